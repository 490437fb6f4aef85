"""The workflows both doors (the CLI and the REST API) share: one implementation each."""
