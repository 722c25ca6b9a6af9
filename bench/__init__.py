"""Benchmarks: rendering, `gen entity`, the rendered project's tests, and the service under load.

Run `.venv/bin/python -m bench` from the repository root (see README.md, "Benchmarks").
"""
