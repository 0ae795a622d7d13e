"""The partner events list on the real store: a group's events of one platform are one document
(the others packed into it), read back each with its own id, body and times, in order; an event
whose key two events share (a freeze request) keeps its own document and its first record; a
document of the version before (one event each) is listed with them. Paged by cursor, every event
is listed once, in order, packed or not; a cursor never passes an event whose transaction
commits after a later-recorded one's; and a replay of a range holding more than the most one replay
sends is refused without queueing anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import BulkWriteError

from services.notify.models import Notification, PartnerEvent, Subscription
from services.notify.repository import events_log as stored
from services.notify.service import events_log
from shared.store import UnitOfWork, row
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration
AT = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_partner_events", PartnerEvent):
        yield


def event(key: str, platform: str, n: int) -> dict:
    return row(PartnerEvent, id=key, platform=platform, event_type="org.complaints-suite.complaint.filed.v1",
               internal_type="ComplaintFiled", complaint_id=f"c-{n}", ticket=f"CP-20261207-{n:06d}",
               occurred_at=AT + timedelta(seconds=n), recorded_at=AT + timedelta(minutes=1),
               body=f'{{"id":"{key}","n":{n}}}')


def test_a_group_s_events_of_a_platform_are_one_document_and_each_reads_back_whole(db: None) -> None:
    collection = PartnerEvent._get_collection()
    # Written by the version before: one document per event.
    collection.insert_one(event("e-old", "p-a", 0) | {"recorded_at": AT})
    group = UnitOfWork.group()
    for n in range(1, 6):
        stored.create_partner_event(group, event=event(f"e-{n}", "p-a", n), packable=True)
    stored.create_partner_event(group, event=event("e-b", "p-b", 9), packable=True)
    stored.create_partner_event(group, event=event("freeze:c-1", "p-a", 7))  # a key two events share
    group.commit()

    assert collection.count_documents({}) == 4  # the old one, p-a's five, p-b's one, the freeze request
    listed = list(stored.iter_partner_events(platform="p-a", since=None, until=None))
    assert [e.id for e in listed] == ["e-old", "e-1", "e-2", "e-3", "e-4", "e-5", "freeze:c-1"]
    for one in listed[1:6]:
        n = int(one.id.split("-")[1])
        assert (one.platform, one.ticket, one.complaint_id) == ("p-a", f"CP-20261207-{n:06d}", f"c-{n}")
        assert one.body == f'{{"id":"e-{n}","n":{n}}}' and one.internal_type == "ComplaintFiled"
        assert one.occurred_at.replace(tzinfo=UTC) == AT + timedelta(seconds=n)
        assert one.recorded_at.replace(tzinfo=UTC) == AT + timedelta(minutes=1)
    assert [e.id for e in stored.iter_partner_events(platform="p-b", since=None, until=None)] == ["e-b"]
    # A range on recorded_at finds the packed ones with their document.
    since = list(stored.iter_partner_events(platform="p-a", since=AT + timedelta(seconds=30), until=None))
    assert [e.id for e in since] == ["e-1", "e-2", "e-3", "e-4", "e-5", "freeze:c-1"]

    # The freeze request told again (the other service's event) keeps its first record.
    again = UnitOfWork.group()
    stored.create_partner_event(again, event=event("freeze:c-1", "p-a", 8) | {"body": "{}"})
    with pytest.raises(BulkWriteError, match="[Dd]uplicate"):
        again.commit()
    again.abort()
    alone = UnitOfWork.standalone()
    alone.transaction(lambda tx: stored.create_partner_event(tx, event=event("freeze:c-1", "p-a", 8)
                                                              | {"body": "{}"}))
    assert PartnerEvent.objects.get(id="freeze:c-1").body == '{"id":"freeze:c-1","n":7}'


def stored_group(platform: str, ids: list[str], at: datetime) -> None:
    """One consumer group's events of a platform, recorded at `at` (one document, the rest packed)."""
    group = UnitOfWork.group()
    for key in ids:
        stored.create_partner_event(group, event=event(key, platform, 0) | {"recorded_at": at}, packable=True)
    group.commit()


def every_page(*, limit: int, now: datetime, cursor: str | None = None) -> list[str]:
    listed: list[str] = []
    while True:
        page = events_log.list_events(platform="p-a", since=None, types=set(), limit=limit, cursor=cursor,
                                      settle_s=5, now=now)
        listed += [item["id"] for item in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            return listed


def test_paged_by_cursor_every_event_is_listed_once_in_order(db: None) -> None:
    # Two groups recorded at the same moment, a group at the next, and single documents between.
    stored_group("p-a", [f"e-{n:02d}" for n in range(0, 12)], AT)
    stored_group("p-a", [f"e-{n:02d}" for n in range(12, 20)], AT)
    stored_group("p-a", ["single-1"], AT + timedelta(seconds=1))
    stored_group("p-a", [f"f-{n:02d}" for n in range(0, 9)], AT + timedelta(seconds=2))
    stored_group("p-b", ["other"], AT)
    expected = [f"e-{n:02d}" for n in range(20)] + ["single-1"] + [f"f-{n:02d}" for n in range(9)]
    later = AT + timedelta(minutes=5)

    for limit in (1, 7, 20, 100):
        assert every_page(limit=limit, now=later) == expected


def test_a_cursor_does_not_pass_an_event_committed_after_a_later_recorded_one(db: None) -> None:
    # Two consumers record an event each: B's (recorded second) commits first; a reconciler lists
    # between the two commits. Then A's commits, and the reconciler asks again from its cursor.
    stored_group("p-a", ["b"], AT + timedelta(seconds=2))
    first = events_log.list_events(platform="p-a", since=None, types=set(), limit=100, cursor=None, settle_s=5,
                                   now=AT + timedelta(seconds=3))
    stored_group("p-a", ["a"], AT + timedelta(seconds=1))
    assert first.items == []  # recorded less than the window ago: not listed yet
    second = events_log.list_events(platform="p-a", since=None, types=set(), limit=100, cursor=first.next_cursor,
                                    settle_s=5, now=AT + timedelta(seconds=8))
    assert [item["id"] for item in second.items] == ["a", "b"]
    # Past the window, what is listed is final: the next page starts after it.
    assert every_page(limit=1, now=AT + timedelta(seconds=9), cursor=second.next_cursor) == []


@pytest.fixture
def replay_db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_replay_max", PartnerEvent, Notification):
        yield


def test_a_replay_of_a_range_holding_more_than_the_most_is_refused_and_queues_nothing(replay_db: None) -> None:
    stored_group("p-a", [f"e-{n:04d}" for n in range(events_log.REPLAY_MAX + 1)], AT)
    stored_group("p-a", ["late-1", "late-2"], AT + timedelta(seconds=2))
    sub = Subscription(id="s-1", platform="p-a", owner="p-a-ops", url="https://hooks.example/in", created_at=AT)

    with pytest.raises(events_log.ReplayTooLarge, match=f"more than {events_log.REPLAY_MAX} events"):
        events_log.replay(subscription=sub, start=AT, end=AT + timedelta(seconds=3))
    assert Notification.objects.count() == 0

    answer = events_log.replay(subscription=sub, start=AT + timedelta(seconds=1), end=AT + timedelta(seconds=3))
    assert (answer["events"], answer["queued"]) == (2, 2)
    assert sorted(n.event_id for n in Notification.objects) == ["late-1", "late-2"]
