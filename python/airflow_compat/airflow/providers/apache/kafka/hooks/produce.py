"""Kafka provider: KafkaProducerHook."""
from airflow._updraft.kafka_hooks import KafkaProducerHook  # noqa: F401
