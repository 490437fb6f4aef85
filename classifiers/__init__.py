"""Signal families. Each module exposes one `SignalHandler`; none knows about Beam pipelines."""
