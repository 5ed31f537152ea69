"""KafkaConsumeOperator: the article/blog spelling (not upstream): consumed messages become the XCom."""
from airflow._updraft.kafka import KafkaConsumeOperator  # noqa: F401
