"""``airflow.providers.standard.decorators`` package."""
