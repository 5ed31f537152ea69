"""``airflow.providers.apache.kafka``: the Kafka provider (run natively by Updraft's worker)."""
