"""Framework plumbing beneath every layer: settings, database, errors, security, logging."""
