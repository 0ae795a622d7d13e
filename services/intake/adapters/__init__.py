"""Intake's outside systems: the trace query service (Jaeger) that holds spans sent to a collector."""
