"""The day's ticket counter in the store, from which each instance reserves numbers a block at a time."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.intake.models import TicketSequence
from shared.store import database

SHANGHAI = ZoneInfo("Asia/Shanghai")
ATTEMPTS = 5


class TicketNumbers:
    """Ticket numbers of the day (Asia/Shanghai), unique across instances.

    The day's counter in the store is one document every filing would otherwise update, one
    round-trip each; an instance reserves `block` numbers at a time instead and hands them out in
    order. Numbers stay unique and increase within an instance; with several instances they
    interleave, and an instance that stops leaves the rest of its block unused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter: tuple[str, str] | None = None  # (database, day) the block was reserved from
        self._next = self._end = 0

    def next(self, *, prefix: str, now: datetime, block: int = 1) -> str:
        """The next number, e.g. CP-20261123-000042."""
        day = f"{prefix}-{now.astimezone(SHANGHAI).strftime('%Y%m%d')}"
        counter = (database().name, day)
        with self._lock:
            if counter != self._counter or self._next >= self._end:
                last = _reserve(day=day, count=block)
                self._counter, self._next, self._end = counter, last - block + 1, last + 1
            number, self._next = self._next, self._next + 1
        return f"{day}-{number:06d}"


def _reserve(*, day: str, count: int) -> int:
    """Add `count` to the day's counter atomically; the last number reserved."""
    # findAndModify: the only atomic increment-and-read outside a transaction. On the embedded store
    # it reads the whole collection (see UnitOfWork.update_before), which holds one counter per day.
    for _ in range(ATTEMPTS):
        try:
            doc = database()[TicketSequence._get_collection_name()].find_one_and_update(
                {"_id": day}, {"$inc": {"value": count}}, upsert=True, return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            continue  # two first-of-the-day upserts raced; the counter exists now
        # Racing first-of-the-day upserts can also come back empty: skipping numbers is fine,
        # reusing one is not (the unique ticket index would refuse it anyway).
        if doc is not None:
            return int(doc["value"])
    raise RuntimeError(f"could not allocate a ticket number after {ATTEMPTS} attempts")
