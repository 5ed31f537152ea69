"""Kafka provider: KafkaConsumerHook."""
from airflow._updraft.kafka_hooks import KafkaConsumerHook  # noqa: F401
