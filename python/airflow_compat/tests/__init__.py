"""Unit tests of Updraft's Airflow compatibility package and parse runtime."""
