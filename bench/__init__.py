"""Benchmarks of the AINative mock server: ``python bench/run.py`` (see bench/README.md)."""
