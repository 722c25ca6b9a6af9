"""Data access, one repository per model; all SQL lives here, and nothing here commits."""
