"""Notify service domain: what to say, to whom, and the outbound adapters; no broker or store imports."""
