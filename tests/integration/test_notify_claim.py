"""Which due webhook deliveries a claim takes on the real store: none of a paused endpoint or one
still backing off, every one of an endpoint that answers again (its backoff cleared)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def notify_db(servers: Servers, namespace: str) -> Iterator[None]:
    from services.notify.main import DOCUMENTS

    with own_database(servers, f"{namespace}_notify_claim", *DOCUMENTS):
        yield


def endpoint(sub_id: str, *, paused: bool = False, backoff_until: datetime | None = None) -> None:
    from services.notify.models import Subscription

    now = datetime.now(UTC)
    Subscription(id=sub_id, platform="kami", owner="partner-1", url=f"https://example.test/{sub_id}",
                 health={"failures": 0, "backoff_until": backoff_until}, paused_at=now if paused else None,
                 created_at=now).save()


def due_delivery(delivery_id: str, sub_id: str) -> None:
    from services.notify.models import Notification

    past = datetime.now(UTC) - timedelta(seconds=5)
    Notification(id=delivery_id, event_id=f"e-{delivery_id}", event_type="ComplaintFiled",
                 recipient_key=f"kami:partner:{sub_id}",
                 recipient_id=sub_id, recipient_role="partner", channel="webhook", language="zh-CN",
                 subscription_id=sub_id, subject="s", body="b", state="pending", next_attempt_at=past,
                 lease_until=past, created_at=past).save()


def test_a_claim_skips_paused_and_backing_off_endpoints_and_takes_one_that_answers_again(notify_db: None) -> None:
    from services.notify.service.delivery import claim

    endpoint("s-healthy", backoff_until=None)  # answered again: its backoff was cleared
    endpoint("s-paused", paused=True)
    endpoint("s-backing-off", backoff_until=datetime.now(UTC) + timedelta(minutes=5))
    endpoint("s-backed-off", backoff_until=datetime.now(UTC) - timedelta(minutes=1))
    for sub_id in ("s-healthy", "s-paused", "s-backing-off", "s-backed-off"):
        due_delivery(f"d-{sub_id}", sub_id)

    taken = claim(channel="webhook", lease=timedelta(seconds=30), slots=10, in_flight=Counter(), per_endpoint=2)

    assert sorted(n.id for n in taken) == ["d-s-backed-off", "d-s-healthy"]
