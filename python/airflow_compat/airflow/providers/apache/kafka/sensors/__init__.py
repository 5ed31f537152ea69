"""Kafka provider sensors package."""
