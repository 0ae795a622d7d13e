"""A transaction left open by a process that died is ended by the embedded store even when nothing
else happens on it, so a write to the documents it held goes through instead of waiting for ever."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from shared.runtime import embedded

pytestmark = pytest.mark.integration


@pytest.fixture
def quiet_store(tmp_path: Path) -> Iterator[str]:
    """A store of its own: no other test's transactions reach it while this one waits."""
    child, uri = embedded.start_mongodb(data_dir=tmp_path / "db", log_dir=tmp_path)
    yield uri
    child.stop()


def test_a_write_behind_an_abandoned_transaction_goes_through_on_a_quiet_store(quiet_store: str) -> None:
    dead = MongoClient(quiet_store)  # the process that dies: it never commits, aborts or speaks again
    live = MongoClient(quiet_store, socketTimeoutMS=150_000)  # past the store's 60 s transaction lifetime
    try:
        deliveries = live["notify"]["notifications"]
        deliveries.insert_one({"_id": "d-1", "state": "pending", "lease": None})
        session = dead.start_session()
        session.start_transaction()
        dead["notify"]["notifications"].update_one({"_id": "d-1"}, {"$set": {"state": "delivered"}},
                                                   session=session)

        claimed = deliveries.update_one({"_id": "d-1", "state": "pending"}, {"$set": {"lease": "worker-2"}})

        assert claimed.modified_count == 1
        assert deliveries.find_one({"_id": "d-1"}) == {"_id": "d-1", "state": "pending", "lease": "worker-2"}
    finally:
        live.close()
        dead.close()
