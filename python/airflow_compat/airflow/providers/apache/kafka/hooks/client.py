"""Kafka provider: KafkaAdminClientHook."""
from airflow._updraft.kafka_hooks import KafkaAdminClientHook  # noqa: F401
