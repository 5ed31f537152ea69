"""KafkaProduceOperator: the article/blog spelling (not upstream): one templated message per run."""
from airflow._updraft.kafka import KafkaProduceOperator  # noqa: F401
