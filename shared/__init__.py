"""Shared kernel: wire contracts, envelope, telemetry, settings helpers, outbox and consumer ledger."""
