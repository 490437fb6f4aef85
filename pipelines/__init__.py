"""Beam pipelines and transforms: the streaming gate, scan, and Kafka IO."""
