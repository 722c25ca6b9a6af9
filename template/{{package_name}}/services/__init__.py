"""Business rules, one service per entity; each write ends with one commit."""
