"""Kafka provider operators package."""
