"""Remove content left behind by uploads a crash cut short: chunks without a file, files without an item."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from bson import ObjectId

from services.evidence.models import EvidenceItem
from services.evidence.storage import delete
from shared.envelope import utcnow
from shared.store import STORE_UNAVAILABLE, database

log = logging.getLogger(__name__)


def sweep_orphans(*, older_than: timedelta) -> int:
    """Delete stored content no evidence item owns, once older than `older_than`; return how many."""
    db, cutoff = database(), utcnow() - older_than
    started = db["fs.chunks"].distinct(
        "files_id", {"n": 0, "files_id": {"$lt": ObjectId.from_datetime(cutoff)}})
    closed = {d["_id"] for d in db["fs.files"].find({"_id": {"$in": started}}, {"_id": 1})}
    orphans = [files_id for files_id in started if files_id not in closed]
    if orphans:
        db["fs.chunks"].delete_many({"files_id": {"$in": orphans}})
    old_files = [d["_id"] for d in db["fs.files"].find({"uploadDate": {"$lt": cutoff}},
                                                       {"_id": 1})]
    owned = set(db[EvidenceItem._get_collection_name()].distinct(
        "gridfs_id", {"gridfs_id": {"$in": [str(i) for i in old_files]}}))
    unowned = [files_id for files_id in old_files if str(files_id) not in owned]
    for files_id in unowned:
        delete(gridfs_id=str(files_id))
    return len(orphans) + len(unowned)


def sweeper(*, interval_s: float, older_than: timedelta,
            ready: Callable[[], bool]) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background loop running the sweep every `interval_s` while the store is up."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            if not ready():
                continue
            try:
                removed = await asyncio.to_thread(sweep_orphans, older_than=older_than)
            except STORE_UNAVAILABLE as exc:
                log.warning("orphan sweep waiting for the store: %s", exc)
                continue
            if removed:
                log.info("removed %d pieces of orphaned evidence content", removed)

    return loop
