"""Intake's reconciler on the real store: what it re-drives, and what it leaves to a busy consumer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from services.intake.models import Complaint
from services.intake.service.reconcile import ACTORS, Activity, partition_of, redrive_stuck
from shared import store
from shared.envelope import utcnow
from shared.outbox import PUBLISHED, OutboxEntry
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration

AFTER = timedelta(minutes=2)
HORIZON = timedelta(hours=72)


@pytest.fixture
def intake_db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_reconcile", Complaint, OutboxEntry):
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
        "timeline": [{"event_id": f"e-{complaint_id}-{a}", "at": at, "service": a, "step": "seen"}
                     for a, at in acted.items()],
    })
    db[OutboxEntry._get_collection_name()].insert_one({
        "_id": f"filed-{complaint_id}", "topic": "complaints.events", "key": complaint_id,
        "message_type": "ComplaintFiled", "payload": "{}", "state": PUBLISHED, "created_at": filed_at,
        "lease_until": filed_at, "published_at": filed_at,
    })
    return ticket


def everyone(at: datetime) -> dict[str, datetime]:
    return dict.fromkeys(ACTORS, at)


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
