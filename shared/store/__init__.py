"""The document store: one connection per service, and the unit of work its code writes through.

What it guarantees:
- `UnitOfWork` is handed to the code that writes (never found through a hidden context): alone,
  each `transaction(work)` commits on its own and is retried on transient write conflicts; in a
  group (a consumer's poll, concurrent HTTP filings) the writes queue and go out at the owner's
  `commit` as one request per collection and one commit, or not at all.
- A write a unit was told nothing reads back (`add`, `write`) may wait for the commit; `insert`
  and the reads see the unit's own transaction at once.
- `GroupCommit` gives every caller exactly the outcome its own transaction would have had: a
  group that fails is undone and each job runs alone. `GroupRead` never answers older than the
  question.
- `row` builds a hot path's document in its stored shape, without a document object (`add` takes rows).
- `STORE_UNAVAILABLE` names the errors that mean "not reachable now": callers retry or answer 503.
"""

from shared.store.connection import (
    DUPLICATE_KEY,
    STORE_UNAVAILABLE,
    DuplicateKey,
    client,
    connect,
    database,
    ensure_indexes,
    insert_new,
    is_conflict,
    ping,
)
from shared.store.grouping import GroupCommit, GroupRead
from shared.store.rows import row
from shared.store.unit import Sink, UnitOfWork, run_transaction

__all__ = ["DUPLICATE_KEY", "STORE_UNAVAILABLE", "DuplicateKey", "GroupCommit", "GroupRead", "Sink", "UnitOfWork",
           "client", "connect", "database", "ensure_indexes", "insert_new", "is_conflict", "ping", "row",
           "run_transaction"]
