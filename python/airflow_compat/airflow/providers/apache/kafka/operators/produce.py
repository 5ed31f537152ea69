"""Kafka provider: ProduceToTopicOperator."""
from airflow._updraft.kafka import ProduceToTopicOperator  # noqa: F401
