"""Kafka provider: ConsumeFromTopicOperator."""
from airflow._updraft.kafka import ConsumeFromTopicOperator  # noqa: F401
