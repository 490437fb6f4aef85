"""The REST APIs and the analysts' console, served by `clipguard serve`."""
