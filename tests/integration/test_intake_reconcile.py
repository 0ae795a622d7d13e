"""Intake's reconciler on the real store: what it re-drives, and what it leaves to a busy consumer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from pymongo import monitoring

from services.intake.models import Complaint, ComplaintWait
from services.intake.repository.waits import adopt_listed_waits, waiting_queries
from services.intake.service.reconcile import ACTORS, Activity, redrive_stuck
from shared import store
from shared.bus import partition_of
from shared.envelope import utcnow
from shared.outbox import PUBLISHED, OutboxEntry
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration

AFTER = timedelta(minutes=2)
HORIZON = timedelta(hours=72)


@pytest.fixture
def intake_db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_reconcile", Complaint, ComplaintWait, OutboxEntry):
        yield


PARTITIONS = 4


def ids_in(partition: int) -> Iterator[str]:
    """Complaint ids whose events go to one partition."""
    return (f"c-{i}" for i in itertools.count() if partition_of(f"c-{i}", partitions=PARTITIONS) == partition)


def file(complaint_id: str, *, filed_at: datetime, acted: dict[str, datetime]) -> str:
    """A stored complaint whose ComplaintFiled went out, with a step from each actor in `acted`."""
    ticket = f"CP-20261123-{complaint_id[2:]:0>6}"
    db = store.database()
    db[Complaint._get_collection_name()].insert_one({
        "_id": complaint_id, "ticket": ticket, "filed_at": filed_at,
        "status": "acknowledged" if "escalation" in acted else "filed",
    })
    if waiting := [a for a in ACTORS if a not in acted]:
        db[ComplaintWait._get_collection_name()].insert_many([
            {"_id": ComplaintWait.key(complaint_id, a), "complaint_id": complaint_id, "actor": a, "filed_at": filed_at}
            for a in waiting])
    db[OutboxEntry._get_collection_name()].insert_one({
        "_id": f"filed-{complaint_id}", "topic": "complaints.events", "key": complaint_id,
        "message_type": "ComplaintFiled", "payload": "{}", "state": PUBLISHED, "created_at": filed_at,
        "lease_until": filed_at, "published_at": filed_at,
    })
    return ticket


def everyone(at: datetime) -> dict[str, datetime]:
    return dict.fromkeys(ACTORS, at)


class ComplaintReads(monitoring.CommandListener):
    """Counts the complaint documents the store sends this process while switched on."""

    def __init__(self) -> None:
        self.on, self.documents = False, 0
        self._asked: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on and event.command_name in ("find", "getMore", "aggregate"):
            field = "collection" if event.command_name == "getMore" else event.command_name
            self._asked[event.request_id] = event.command.get(field)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if self._asked.pop(event.request_id, None) == Complaint._get_collection_name():
            cursor = event.reply.get("cursor", {})
            self.documents += len(cursor.get("firstBatch", cursor.get("nextBatch", [])))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._asked.pop(event.request_id, None)


READS = ComplaintReads()
monitoring.register(READS)  # only clients created after this report to it: the fixture connects later


def reconcile(*, idle: frozenset[str] = frozenset()) -> list[str]:
    """One reconciler round; `idle` names the services that did nothing for a while."""
    return redrive_stuck(after=AFTER, horizon=HORIZON, partitions=PARTITIONS, idle=lambda actor, _: actor in idle)


def test_a_complaint_queued_behind_a_busy_consumer_is_left_alone(intake_db: None) -> None:
    now = utcnow()
    ids = ids_in(0)
    # Notify has a backlog of ten minutes: it is working now, on complaints filed ten minutes ago.
    file(next(ids), filed_at=now - timedelta(minutes=11), acted=everyone(now - timedelta(seconds=5)))
    file(next(ids), filed_at=now - timedelta(minutes=9), acted={"evidence": now, "escalation": now})
    file(next(ids), filed_at=now - timedelta(minutes=5), acted={"evidence": now, "escalation": now})

    assert reconcile() == []
    assert OutboxEntry.objects(state="pending").count() == 0


def test_a_complaint_the_consumer_went_past_in_its_partition_is_re_driven_once(intake_db: None) -> None:
    now = utcnow()
    ids, other = ids_in(1), ids_in(2)
    # In partition 1, notify acted on a complaint filed five minutes after this one: its event was lost.
    lost_id = next(ids)
    lost = file(lost_id, filed_at=now - timedelta(minutes=12), acted={"evidence": now, "escalation": now})
    file(next(ids), filed_at=now - timedelta(minutes=7), acted=everyone(now - timedelta(seconds=3)))
    file(next(ids), filed_at=now - timedelta(minutes=6), acted={"evidence": now, "escalation": now})
    # Partition 2 lags further behind (say its consumer was just restarted): merely queued.
    file(next(other), filed_at=now - timedelta(minutes=12), acted={"evidence": now, "escalation": now})

    assert reconcile() == [lost]
    assert [e.key for e in OutboxEntry.objects(state="pending")] == [lost_id]
    # Until it is `after` old, the re-drive is not repeated.
    assert reconcile() == []


def test_with_an_idle_consumer_anything_older_than_the_bound_is_re_driven(intake_db: None) -> None:
    now = utcnow()
    ids = ids_in(3)
    # Escalation has done nothing for a while (its events lost with the broker): every complaint
    # still "filed" after the bound is re-driven, the newer one waits.
    file(next(ids), filed_at=now - timedelta(minutes=20), acted=everyone(now - timedelta(minutes=10)))
    old = file(next(ids), filed_at=now - timedelta(minutes=8), acted={})
    file(next(ids), filed_at=now - timedelta(seconds=30), acted={})

    assert reconcile() == []  # escalation still busy: it may get to them
    assert reconcile(idle=frozenset({"escalation"})) == [old]


def test_a_round_reads_the_complaints_still_waiting_not_the_whole_horizon(intake_db: None) -> None:
    now = utcnow()
    ids = ids_in(0)
    # Three hours of complaints every service acted on, then one escalation never saw.
    for minute in range(190, 10, -1):
        file(next(ids), filed_at=now - timedelta(minutes=minute), acted=everyone(now - timedelta(minutes=minute - 1)))
    stuck = file(next(ids), filed_at=now - timedelta(minutes=8), acted={"evidence": now, "notify": now})

    # The store serves the round's queries from indexes: it looks at the stuck complaint, not the others.
    examined = [store.database().command("explain", {"find": collection, "filter": query},
                                         verbosity="executionStats")["executionStats"]["totalDocsExamined"]
                for collection, query in waiting_queries(now=utcnow(), after=AFTER, horizon=HORIZON)]
    assert sum(examined) <= len(examined)
    READS.documents, READS.on = 0, True
    try:
        assert reconcile(idle=frozenset({"escalation"})) == [stuck]
    finally:
        READS.on = False
    # The stuck complaint, found as waiting and then for the progress since it: not the 180 others.
    assert READS.documents <= 3


def test_activity_judges_only_watched_partitions_and_only_after_watching_for_the_bound() -> None:
    activity = Activity()
    start = utcnow()
    later = start + timedelta(seconds=1)
    assert not activity.idle("notify", 0, since=later), "a partition not watched is another instance's"
    activity.watch("notify", {0, 1})
    assert not activity.idle("notify", 0, since=start - AFTER), "a restart must not look like a stall"
    assert activity.idle("notify", 0, since=later)
    activity.note("notify")
    # Busy on any partition is busy: under a backlog one partition may wait while it works on others.
    assert not activity.idle("notify", 1, since=start)
    assert activity.idle("escalation", 0, since=later) is False, "escalation's partitions are not watched"
    activity.watch("notify", {0})
    assert not activity.idle("notify", 1, since=later), "a partition given up is no longer judged"


def test_complaints_filed_when_waits_were_a_list_on_the_complaint_are_still_waited_for(intake_db: None) -> None:
    now = utcnow()
    ids = ids_in(3)
    complaints = store.database()[Complaint._get_collection_name()]
    # As stored before: the services not heard from listed on the complaint, under an index of their own.
    complaints.create_index([("awaiting", 1), ("filed_at", 1)])
    old, done = next(ids), next(ids)
    ticket = file(old, filed_at=now - timedelta(minutes=9), acted={"evidence": now, "escalation": now})
    file(done, filed_at=now - timedelta(minutes=8), acted=everyone(now))
    store.database()[ComplaintWait._get_collection_name()].delete_many({})
    complaints.update_one({"_id": old}, {"$set": {"awaiting": ["notify"]}})
    complaints.update_one({"_id": done}, {"$set": {"awaiting": []}})

    assert reconcile(idle=frozenset({"notify"})) == []  # not seen: the list is no longer read
    assert adopt_listed_waits() == 1
    assert [(w["_id"], w["filed_at"]) for w in ComplaintWait.objects.as_pymongo()] == \
        [(ComplaintWait.key(old, "notify"), complaints.find_one({"_id": old})["filed_at"])]
    assert "awaiting_1_filed_at_1" not in complaints.index_information()
    assert "awaiting" not in complaints.find_one({"_id": old})
    assert Complaint.objects(id=done).first().ticket  # a finished one's empty list stays, and loads
    assert adopt_listed_waits() == 0  # done once: a later start finds the index gone
    assert reconcile(idle=frozenset({"notify"})) == [ticket]
