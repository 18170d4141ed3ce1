"""Benchmarks of issue 8: `python -m bench` (see bench/__main__.py and the README)."""
