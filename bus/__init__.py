"""Messaging adapters: decisions published to Kafka one at a time."""
