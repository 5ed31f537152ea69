"""Kafka provider: KafkaBaseHook."""
from airflow._updraft.kafka_hooks import KafkaBaseHook  # noqa: F401
