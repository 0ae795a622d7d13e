"""Benchmarks: scripts that print figures against the raw stack measured in the same run."""
