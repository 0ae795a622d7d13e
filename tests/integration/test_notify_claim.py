"""Which due webhook deliveries a claim takes on the real store: none of a paused endpoint or one
still backing off, every one of an endpoint that answers again (its backoff cleared); a claim that
lost deliveries to another worker, or left some to its endpoint's cap, says so; each notify process
takes back the deliveries it held first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.servers import Servers, own_database
from tests.support.store_commands import COMMANDS

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


def test_handed_deliveries_go_out_without_a_claim_and_a_held_endpoints_wait_for_one(notify_db: None) -> None:
    from services.notify.models import Notification
    from services.notify.repository import create_intents
    from services.notify.service.delivery import claim
    from services.notify.service.handoff import Handoff, take_handed
    from shared.store import run_transaction

    endpoint("s-healthy")
    endpoint("s-paused", paused=True)
    now = datetime.now(UTC)
    docs = [Notification(id=f"d-{sub_id}-{n}", event_id=f"e-{n}", event_type="ComplaintFiled",
                         recipient_key=f"kami:partner:{sub_id}", recipient_id=sub_id, recipient_role="partner",
                         channel="webhook", language="zh-CN", subscription_id=sub_id, subject="s", body="b",
                         state="pending", next_attempt_at=now, lease_until=now, created_at=now)
            for sub_id, n in [("s-healthy", 1), ("s-healthy", 2), ("s-healthy", 3), ("s-paused", 1)]]
    given: list[Notification] = []
    handoff = Handoff(lease=timedelta(seconds=60), give=given.extend)
    rows = [doc.to_mongo().to_dict() for doc in docs]  # as planning builds them
    handoff.lease_new(rows, now=now)

    def record(tx):  # as planning.record_intents does in the transaction that records them
        handoff.give_on_commit(tx, create_intents(tx, rows=rows))

    run_transaction(record)
    assert [d.id for d in given] == [d.id for d in docs]  # handed over once committed, leased to this worker
    assert claim(channel="webhook", lease=timedelta(seconds=30), slots=10, in_flight=Counter(), per_endpoint=2) == []

    waiting = list(given)
    with COMMANDS.counting():
        taken = take_handed(waiting, now=now, margin=timedelta(seconds=12), room=10, in_flight=Counter(), caps={},
                            per_endpoint=2)

    assert [d.id for d in taken] == ["d-s-healthy-1", "d-s-healthy-2"]  # two per endpoint, as a claim takes
    assert [d.id for d in waiting] == ["d-s-healthy-3"]  # the next turn's
    assert COMMANDS.statements[("update", "notifications")] == 1  # no claim: only the paused one given back
    assert taken.endpoints["s-healthy"].url == "https://example.test/s-healthy"
    # The paused endpoint's delivery waits for a claim, which takes it as soon as the endpoint resumes.
    resume("s-paused")
    again = claim(channel="webhook", lease=timedelta(seconds=30), slots=10, in_flight=Counter(), per_endpoint=2)
    assert [d.id for d in again] == ["d-s-paused-1"]
    # A handed delivery whose lease is nearly out is left to a claim after it.
    assert take_handed(waiting, now=now + timedelta(seconds=50), margin=timedelta(seconds=12), room=10,
                       in_flight=Counter(), caps={}, per_endpoint=2) == [] and waiting == []


def test_a_claim_that_lost_deliveries_to_another_worker_says_so_and_the_next_takes_the_next_ones(
        notify_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.notify import repository
    from services.notify.service import delivery

    endpoint("s-busy")
    for n in range(40):  # a held backlog, due in this order
        due_delivery(f"d-{n:02d}", "s-busy")
    read = repository.list_due
    due = read(channel="webhook", now=datetime.now(UTC))
    # Both read the due set before either leased (two notify processes draining one backlog).
    monkeypatch.setattr(repository, "list_due", lambda **_: list(due))
    ask = {"channel": "webhook", "lease": timedelta(seconds=30), "slots": 10, "in_flight": Counter(), "per_endpoint": 4}

    first = delivery.claim(**ask)
    lost = delivery.claim(**ask)
    monkeypatch.setattr(repository, "list_due", read)
    again = delivery.claim(**ask)  # what the worker that lost does at once (loops.DeliveryWorker)

    assert [d.id for d in first] == ["d-00", "d-01", "d-02", "d-03"]  # the earliest, up to the endpoint's cap
    assert not first.contended
    assert lost == [] and lost.contended  # never one delivery leased twice; the loser knows it lost
    assert [d.id for d in again] == ["d-04", "d-05", "d-06", "d-07"]  # the next ones, still in order


def test_each_process_claims_back_its_own_held_deliveries_first_then_the_others(notify_db: None) -> None:
    from services.notify.models import Notification
    from services.notify.service import delivery

    endpoint("s-shared")
    for n in range(6):  # handed to two processes in turn as they were recorded, then held
        due_delivery(f"d-{n}", "s-shared")
        Notification.objects(id=f"d-{n}").update_one(set__lease_token="handoff-a" if n % 2 else "handoff-b")
    ask = {"channel": "webhook", "lease": timedelta(seconds=30), "slots": 2, "in_flight": Counter(), "per_endpoint": 8}

    a_first = delivery.claim(**ask, own="handoff-a")
    b_first = delivery.claim(**ask, own="handoff-b")
    a_last = delivery.claim(**(ask | {"slots": 1}), own="handoff-a")
    a_then = delivery.claim(**(ask | {"slots": 1}), own="handoff-a")

    assert [d.id for d in a_first] == ["d-1", "d-3"]  # its own, the earliest first, though d-0 is earlier
    assert [d.id for d in b_first] == ["d-0", "d-2"]  # no race over the same ones
    assert not a_first.contended and not b_first.contended
    assert [d.id for d in a_last] == ["d-5"]  # its last own one before the other's earlier d-4
    assert [d.id for d in a_then] == ["d-4"]  # none of its own left: the other's


def test_a_claim_that_left_due_deliveries_to_its_endpoints_cap_says_so(notify_db: None) -> None:
    from services.notify.service import delivery

    endpoint("s-narrow")
    for n in range(5):
        due_delivery(f"d-{n}", "s-narrow")
    ask = {"channel": "webhook", "lease": timedelta(seconds=30), "slots": 10, "per_endpoint": 2}

    capped = delivery.claim(**ask, in_flight=Counter())
    rest = delivery.claim(**ask, in_flight=Counter({"s-narrow": 0}), endpoint_caps={"s-narrow": 10})

    assert [d.id for d in capped] == ["d-0", "d-1"] and capped.capped  # three left for the next claim
    assert [d.id for d in rest] == ["d-2", "d-3", "d-4"] and not rest.capped


def resume(sub_id: str) -> None:
    from services.notify.models import Subscription

    Subscription.objects(id=sub_id).update_one(set__paused_at=None)


def test_the_delivery_index_no_query_uses_is_dropped_when_the_store_is_prepared(notify_db: None) -> None:
    from services.notify.models import Notification
    from shared import store

    deliveries = store.database()[Notification._get_collection_name()]
    deliveries.create_index("ticket")  # as earlier versions made them
    deliveries.create_index("subscription_id")
    store.ensure_indexes(Notification)  # as a starting service does
    # Each index cost every write of a delivery: the inbox's (which the delivery log reads too) and the
    # claims' are left.
    assert set(deliveries.index_information()) == {
        "_id_", "recipient_role_1_recipient_id_1_created_at_1", "channel_1_state_1_next_attempt_at_1"}
