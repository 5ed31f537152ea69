"""``airflow.providers``: only the standard, apache.kafka and common.compat providers are available."""
