"""The NLE bridge: a local render server and thin clients for OpenFX hosts and Resolve."""
