"""Reads and writes of many documents by id, in slices the embedded store handles in linear time.

Store note: for `{"_id": {"$in": ids}}` the embedded store finds each document by its id, then
checks every document found against the whole list, one comparison at a time: n ids cost it
n x n comparisons. Sliced, a statement costs it n x SLICE comparisons and one round of its fixed
per-statement work; SLICE balances the two (measured on the timer burst: a claim of 200 timers
read and written as one `$in` cost the store more than the rest of their firing; the outbox relay's
mark of 256 entries published, 0.68 ms of store CPU an entry as one statement, 0.37 sliced).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.client_session import ClientSession

#: Ids per statement.
SLICE = 25


def find_by_ids(coll: Any, ids: Sequence[Any], *, projection: dict[str, Any] | None = None,
                session: ClientSession | None = None) -> list[dict[str, Any]]:
    """The documents of these ids that exist, read SLICE ids a query."""
    unique = list(dict.fromkeys(ids))
    return [doc for low in range(0, len(unique), SLICE)
            for doc in coll.find({"_id": {"$in": unique[low:low + SLICE]}}, projection, session=session)]


def update_by_ids(coll: Any, ids: Sequence[Any], update: dict[str, Any], *,
                  session: ClientSession | None = None) -> int:
    """Apply one update to the documents of these ids, SLICE ids a statement; how many matched.

    Outside a transaction each slice is a statement of its own: the embedded store waits out a
    conflict of an update_many holding the collection's lock (services/escalation/repository/claims.py),
    a slice for less time than the whole list."""
    unique = list(dict.fromkeys(ids))
    return sum(coll.update_many({"_id": {"$in": unique[low:low + SLICE]}}, update, session=session).matched_count
               for low in range(0, len(unique), SLICE))
