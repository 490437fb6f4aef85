"""The outermost layer: the `clipguard` command, the demo and its report, the broker launcher."""
