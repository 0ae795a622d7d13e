"""Intake's reconciler on the real store: what it re-drives, and what it leaves to a busy consumer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from services.intake.models import Complaint
from services.intake.service.reconcile import ACTORS, redrive_stuck
from shared import store
from shared.envelope import utcnow
from shared.outbox import PUBLISHED, OutboxEntry
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

AFTER = timedelta(minutes=2)
HORIZON = timedelta(hours=72)


@pytest.fixture
def intake_db(servers: Servers, namespace: str) -> Iterator[None]:
    db = f"{namespace}_reconcile"
    store.connect(uri=servers.mongodb_uri, db=db, timeout_ms=3000)
    store.ensure_indexes(Complaint, OutboxEntry)
    yield
    store.client().drop_database(db)


def file(n: int, *, filed_at: datetime, acted: dict[str, datetime]) -> str:
    """A stored complaint whose ComplaintFiled went out, with a step from each actor in `acted`."""
    complaint_id = f"c-{n}"
    db = store.database()
    db[Complaint._get_collection_name()].insert_one({
        "_id": complaint_id, "ticket": f"CP-20261123-{n:06d}", "filed_at": filed_at,
        "status": "acknowledged" if "escalation" in acted else "filed",
        "timeline": [{"event_id": f"e-{n}-{a}", "at": at, "service": a, "step": "seen"} for a, at in acted.items()],
    })
    db[OutboxEntry._get_collection_name()].insert_one({
        "_id": f"filed-{n}", "topic": "complaints.events", "key": complaint_id, "message_type": "ComplaintFiled",
        "payload": "{}", "state": PUBLISHED, "created_at": filed_at, "lease_until": filed_at, "published_at": filed_at,
    })
    return f"CP-20261123-{n:06d}"


def everyone(at: datetime) -> dict[str, datetime]:
    return dict.fromkeys(ACTORS, at)


def test_a_complaint_queued_behind_a_busy_consumer_is_left_alone(intake_db: None) -> None:
    now = utcnow()
    # Notify has a backlog of ten minutes: it is working now, on complaints filed ten minutes ago.
    file(1, filed_at=now - timedelta(minutes=11), acted=everyone(now - timedelta(seconds=5)))
    file(2, filed_at=now - timedelta(minutes=9), acted={"evidence": now, "escalation": now})
    file(3, filed_at=now - timedelta(minutes=5), acted={"evidence": now, "escalation": now})

    assert redrive_stuck(after=AFTER, horizon=HORIZON) == []
    assert OutboxEntry.objects(state="pending").count() == 0


def test_a_complaint_the_consumer_went_past_is_re_driven_once(intake_db: None) -> None:
    now = utcnow()
    # Notify acted on complaints filed five minutes after number 2: its ComplaintFiled was lost.
    lost = file(2, filed_at=now - timedelta(minutes=12), acted={"evidence": now, "escalation": now})
    file(3, filed_at=now - timedelta(minutes=7), acted=everyone(now - timedelta(seconds=3)))
    file(4, filed_at=now - timedelta(minutes=6), acted={"evidence": now, "escalation": now})

    assert redrive_stuck(after=AFTER, horizon=HORIZON) == [lost]
    assert [e.key for e in OutboxEntry.objects(state="pending")] == ["c-2"]
    # Until it is `after` old, the re-drive is not repeated.
    assert redrive_stuck(after=AFTER, horizon=HORIZON) == []


def test_with_an_idle_consumer_anything_older_than_the_bound_is_re_driven(intake_db: None) -> None:
    now = utcnow()
    # Escalation has done nothing for ten minutes (its events lost with the broker): every complaint
    # still "filed" after the bound is re-driven, the newer one waits.
    file(1, filed_at=now - timedelta(minutes=20), acted=everyone(now - timedelta(minutes=10)))
    old = file(2, filed_at=now - timedelta(minutes=8), acted={})
    file(3, filed_at=now - timedelta(seconds=30), acted={})

    assert redrive_stuck(after=AFTER, horizon=HORIZON) == [old]
