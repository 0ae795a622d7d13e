"""Read-and-write of one document in a transaction on the real store (UnitOfWork.update_before and
UnitOfWork.delete_before, used where find_one_and_update would read a whole growing collection): each
caller gets the document as it was before its own change, even when many change it at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from mongoengine import Document, IntField, StringField

from shared.store import UnitOfWork, run_transaction
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration


class Counter(Document):
    id = StringField(primary_key=True)
    n = IntField(default=0)
    state = StringField(default="open")
    meta = {"collection": "counters"}


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_before_images", Counter):
        for i in range(50):  # others in the collection, which none of the calls may touch
            Counter(id=f"other-{i}", n=100 + i).save()
        yield


def counts() -> dict[str, int]:
    return {c.id: c.n for c in Counter.objects}


def test_update_before_returns_the_document_as_it_was_and_changes_only_it(db: None) -> None:
    Counter(id="c", n=3).save()
    before = run_transaction(lambda tx: tx.update_before(Counter, {"_id": "c"}, {"$inc": {"n": 2}}))

    assert before is not None and before["n"] == 3
    assert counts() == {"c": 5, **{f"other-{i}": 100 + i for i in range(50)}}


def test_update_before_inserts_with_upsert_and_returns_none(db: None) -> None:
    before = run_transaction(lambda tx: tx.update_before(Counter, {"_id": "new"}, {"$set": {"n": 7}}, upsert=True))

    assert before is None and counts()["new"] == 7


def test_update_before_changes_nothing_when_the_query_finds_nothing(db: None) -> None:
    Counter(id="c", n=3, state="closed").save()
    before = run_transaction(lambda tx: tx.update_before(Counter, {"_id": "c", "state": "open"}, {"$inc": {"n": 1}}))
    missing = run_transaction(lambda tx: tx.update_before(Counter, {"_id": "nobody"}, {"$inc": {"n": 1}}))

    assert before is None and missing is None
    assert counts()["c"] == 3 and "nobody" not in counts()


def test_concurrent_updates_each_see_the_document_before_their_own_change(db: None) -> None:
    Counter(id="c", n=0).save()

    def bump(_: int) -> int:
        before = run_transaction(lambda tx: tx.update_before(Counter, {"_id": "c"}, {"$inc": {"n": 1}}))
        assert before is not None
        return int(before["n"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(bump, range(24)))

    # Like findAndModify: no two callers saw the same value, and no change was lost.
    assert sorted(seen) == list(range(24))
    assert counts()["c"] == 24


def test_delete_before_returns_the_document_it_deleted(db: None) -> None:
    Counter(id="c", n=3).save()

    def take(tx: UnitOfWork) -> dict | None:
        return tx.delete_before(Counter, {"n": 3})

    first = run_transaction(take)
    second = run_transaction(take)

    assert first is not None and first["_id"] == "c"
    assert second is None
    assert "c" not in counts() and len(counts()) == 50
