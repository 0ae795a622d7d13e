"""What a test's outbox holds, record by record: an atomic group writes its records of a topic as one entry."""

from __future__ import annotations

from shared.outbox import OutboxEntry


def outbox_records() -> list[OutboxEntry]:
    """Every record the outbox publishes, in its entries' order (each entry's own first, then those it holds)."""
    return [record for entry in OutboxEntry.objects.order_by("created_at") for record in entry.records()]
