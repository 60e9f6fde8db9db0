"""Benchmarks: `make bench` (or `uv run python -m bench`). Not part of the test run."""
