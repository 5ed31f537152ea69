"""Minimal Kafka provider hooks: importable and constructible at parse time;
connecting is done by Updraft's Rust worker, not from DAG files.
"""
from .exceptions import AirflowException
from .runtime import BaseHook


class KafkaBaseHook(BaseHook):
    conn_name_attr = "kafka_config_id"
    default_conn_name = "kafka_default"
    conn_type = "kafka"
    hook_name = "Apache Kafka"

    def __init__(self, kafka_config_id=default_conn_name, *args, **kwargs):
        super().__init__()
        self.kafka_config_id = kafka_config_id

    def get_conn(self):
        raise AirflowException("Kafka clients are not available while parsing a DAG file in Updraft")


class KafkaProducerHook(KafkaBaseHook):
    def get_producer(self):
        return self.get_conn()


class KafkaConsumerHook(KafkaBaseHook):
    def __init__(self, topics, kafka_config_id=KafkaBaseHook.default_conn_name):
        super().__init__(kafka_config_id=kafka_config_id)
        self.topics = topics

    def get_consumer(self):
        return self.get_conn()


class KafkaAdminClientHook(KafkaBaseHook):
    def create_topic(self, topics):
        raise AirflowException("create_topic() cannot run while parsing a DAG file in Updraft")

    def delete_topic(self, topics):
        raise AirflowException("delete_topic() cannot run while parsing a DAG file in Updraft")
