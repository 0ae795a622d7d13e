"""The transactional outbox: a state change and its events are written in one unit of work.

What it guarantees:
- An event exists exactly when the change it records was committed (`emit` adds it to the
  caller's unit of work), with the trace context and the event that caused it.
- The relay of the process that committed it publishes it at once; if that process dies first,
  its lease runs out and any instance's relay publishes it on its next poll. Entries of one key
  are published in the order they were written; failures are retried with backoff, then marked
  failed and kept.
- Delivery is at least once: consumers must be idempotent (see `shared.ledger`). Published
  entries are kept for re-driving (`redrive`, `republish_effects`) until their retention ends;
  an operator lists what is stuck (`unpublished`) and sets it going again (`redrive_entries`).
The relay is owned by the service's runtime (`shared.app.ServiceRuntime`), which gives it to
every unit of work it builds as the unit's sink; nothing is found through a module global.
"""

from shared.outbox.entries import (
    CAUSE,
    FAILED,
    PENDING,
    PUBLISHED,
    OutboxEntry,
    PackedRecords,
    Record,
    backlog,
    emit,
    emit_raw,
    pending_count,
    prune_published,
    redrive,
    redrive_entries,
    republish_effects,
    states_of,
    stored_records,
    unpublished,
)
from shared.outbox.relay import OutboxRelay, Publish

__all__ = ["CAUSE", "FAILED", "PENDING", "PUBLISHED", "OutboxEntry", "OutboxRelay", "PackedRecords", "Publish",
           "Record", "backlog", "emit", "emit_raw", "pending_count", "prune_published", "redrive", "redrive_entries",
           "republish_effects", "states_of", "stored_records", "unpublished"]
