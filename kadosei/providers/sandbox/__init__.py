"""Built-in sandbox providers for test mode (being built)."""
