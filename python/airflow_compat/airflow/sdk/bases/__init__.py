"""``airflow.sdk.bases`` package: base classes to subclass."""
