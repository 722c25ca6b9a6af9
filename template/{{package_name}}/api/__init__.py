"""The HTTP layer: thin routes that validate, call a service, and shape the answer."""
