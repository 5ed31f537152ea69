"""The Kafka provider's system-test DAG ``example_dag_hello_kafka``, for
Updraft: produce with a ``producer_function`` (dotted path and callable),
consume with an ``apply_function`` (dotted path and ``functools.partial``) and
an ``apply_function_batch``, and wait for a message with ``AwaitMessageSensor``.

Upstream's first task writes its connections through Airflow's ORM; here
they are ordinary connections, one consumer group each as upstream has:
``kafka_hello_producer`` and ``kafka_hello_t2``, ``kafka_hello_t4``,
``kafka_hello_t4b``, ``kafka_hello_t5`` (type kafka, extra
``{"bootstrap.servers": ..., "group.id": "t2", ...}``), e.g. as
``AIRFLOW_CONN_KAFKA_HELLO_T2`` variables. The topic ``test_1`` must exist.
"""
import functools
import json
import logging
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator
from airflow.providers.apache.kafka.sensors.kafka import AwaitMessageSensor

consumer_logger = logging.getLogger("airflow")


def producer_function():
    for i in range(20):
        yield (json.dumps(i), json.dumps(i + 1))


def consumer_function(message, prefix=None):
    key = json.loads(message.key())
    value = json.loads(message.value())
    consumer_logger.info("%s %s @ %s; %s : %s", prefix, message.topic(), message.offset(), key, value)


def consumer_function_batch(messages, prefix=None):
    for message in messages:
        key = json.loads(message.key())
        value = json.loads(message.value())
        consumer_logger.info("%s %s @ %s; %s : %s", prefix, message.topic(), message.offset(), key, value)


def await_function(message):
    if json.loads(message.value()) % 5 == 0:
        return f" Got the following message: {json.loads(message.value())}"


def hello_kafka():
    print("Hello Kafka !")


with DAG(
    "example_kafka_hello_v2",
    default_args={"owner": "airflow", "retries": 1, "retry_delay": timedelta(seconds=5)},
    description="Examples of Kafka Operators",
    schedule=None,
    start_date=datetime(2021, 1, 1),
    catchup=False,
    tags=["example", "kafka"],
):
    t1 = ProduceToTopicOperator(
        kafka_config_id="kafka_hello_producer",
        task_id="produce_to_topic",
        topic="test_1",
        producer_function="example_kafka_hello_v2.producer_function",
    )
    t2 = ConsumeFromTopicOperator(
        kafka_config_id="kafka_hello_t2",
        task_id="consume_from_topic",
        topics=["test_1"],
        apply_function="example_kafka_hello_v2.consumer_function",
        apply_function_kwargs={"prefix": "consumed:::"},
        commit_cadence="end_of_batch",
        max_messages=10,
        max_batch_size=2,
    )
    t3 = ProduceToTopicOperator(
        kafka_config_id="kafka_hello_producer",
        task_id="produce_to_topic_2",
        topic="test_1",
        producer_function=producer_function,
    )
    t4 = ConsumeFromTopicOperator(
        kafka_config_id="kafka_hello_t4",
        task_id="consume_from_topic_2",
        topics=["test_1"],
        apply_function=functools.partial(consumer_function, prefix="consumed:::"),
        commit_cadence="end_of_batch",
        max_messages=30,
        max_batch_size=10,
    )
    t4b = ConsumeFromTopicOperator(
        kafka_config_id="kafka_hello_t4b",
        task_id="consume_from_topic_2_b",
        topics=["test_1"],
        apply_function_batch=functools.partial(consumer_function_batch, prefix="consumed:::"),
        commit_cadence="end_of_batch",
        max_messages=30,
        max_batch_size=10,
    )
    t5 = AwaitMessageSensor(
        kafka_config_id="kafka_hello_t5",
        task_id="awaiting_message",
        topics=["test_1"],
        apply_function="example_kafka_hello_v2.await_function",
        xcom_push_key="retrieved_message",
    )
    t6 = PythonOperator(task_id="hello_kafka", python_callable=hello_kafka)

    t3 >> [t4, t4b] >> t5 >> t6
    t1 >> t2
