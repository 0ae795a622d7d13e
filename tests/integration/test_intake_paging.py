"""Paging through complaints on the real store when many share one filing instant (the store keeps
milliseconds): every complaint is listed once, newest first, ties broken by id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.cursor import Cursor
from services.intake.models import Complaint
from services.intake.service.reading import list_complaints
from shared import store
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def complaints(servers: Servers, namespace: str) -> Iterator[list[tuple[datetime, str]]]:
    with own_database(servers, f"{namespace}_paging", Complaint):
        yield _filed()


def _filed() -> list[tuple[datetime, str]]:
    """Ten complaints of one platform, seven of them filed in the same millisecond, and one of another."""
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    rows = [(at, f"c-{i:02d}") for i in range(7)]  # seven filed in the same millisecond
    rows += [(at + timedelta(seconds=1), "c-90"), (at - timedelta(seconds=1), "c-91"), (at - timedelta(days=1), "c-92")]
    rows.append((at, "c-50"))  # another platform at the same instant: never listed
    store.database()["complaints"].insert_many([
        {"_id": cid, "ticket": f"T-{cid}", "platform": "kamen-2" if cid == "c-50" else "kamen-1",
         "status": "filed", "category": "invalid-card-key", "filed_at": when} for when, cid in rows])
    return rows


@pytest.mark.parametrize("size", [1, 2, 3, 20])
def test_pages_walk_every_complaint_once_even_through_a_shared_instant(
        complaints: list[tuple[datetime, str]], size: int) -> None:
    seen: list[str] = []
    after: Cursor | None = None
    for _ in range(20):
        page, after = list_complaints(scope={"platform": "kamen-1"}, filters={}, after=after, limit=size)
        assert len(page) <= size
        seen += [c.id for c in page]
        if after is None:
            break
    mine = sorted(((w, c) for w, c in complaints if c != "c-50"), reverse=True)
    assert seen == [c for _, c in mine]


def test_a_window_ending_before_the_cursor_instant_still_pages_once(complaints: list[tuple[datetime, str]]) -> None:
    at = complaints[0][0]
    window = {"filed_from": at - timedelta(days=2), "filed_to": at + timedelta(milliseconds=1)}
    seen: list[str] = []
    after: Cursor | None = None
    for _ in range(20):
        page, after = list_complaints(scope={"platform": "kamen-1"}, filters={"status": "filed"}, after=after,
                                      limit=2, **window)
        seen += [c.id for c in page]
        if after is None:
            break
    assert seen == [f"c-{i:02d}" for i in range(6, -1, -1)] + ["c-91", "c-92"]
