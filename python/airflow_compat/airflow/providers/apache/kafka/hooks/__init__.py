"""Kafka provider hooks package."""
