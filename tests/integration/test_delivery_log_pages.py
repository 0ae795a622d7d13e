"""The delivery log on the real store: a settling transaction's attempts are one page the
deliveries name, read back per delivery in order; an attempt made by a worker that lost the
delivery is shown too; attempts logged one by one by the version before are still shown; a settle
or a claim never overwrites a delivery another worker wrote after it read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.notify import repository
from services.notify.models import DeliveryAttempt, DeliveryLog, Notification
from shared.store import GroupCommit
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration
AT = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_delivery_log", Notification, DeliveryLog, DeliveryAttempt):
        yield


def delivery(n: int, *, token: str = "lease-1", attempts: int = 0) -> Notification:
    doc = Notification(id=f"d-{n}", event_id=f"e-{n}", event_type="ComplaintFiled", recipient_key="p:partner:s-1",
                       recipient_id="s-1", recipient_role="partner", channel="webhook", language="zh-CN",
                       subject="x", body="x", state="pending", attempts=attempts, next_attempt_at=AT,
                       lease_until=AT + timedelta(minutes=1), lease_token=token, created_at=AT)
    doc.save(force_insert=True)
    return doc


def attempt(doc: Notification, *, ok: bool, at: datetime, status: int | None = 204) -> dict:
    return {"delivery_id": doc.id, "number": doc.attempts + 1, "channel": "webhook", "started_at": at,
            "status_code": status, "latency_ms": 12, "error": None if ok else f"HTTP {status}", "ok": ok}


def test_a_batch_s_attempts_are_one_page_and_each_delivery_reads_its_own(db: None) -> None:
    mine = [delivery(n) for n in range(3)]
    lost = delivery(3, token="lease-of-another-worker")  # its lease ran out and another worker took it
    lost.lease_token = "lease-1"  # what this worker still holds of it
    commits = GroupCommit(name="test")
    delivered = {"state": "delivered", "delivered_at": AT, "lease_until": AT, "last_error": None}

    def settle(tx):  # as outcomes.record_outcomes does for a batch of sends
        page = repository.create_log(tx, attempts=[attempt(d, ok=True, at=AT + timedelta(seconds=d.attempts))
                                                   for d in [*mine, lost]], now=AT)
        settled = repository.update_settled_many(tx, settles=[(d, delivered) for d in [*mine, lost]], log=page)
        repository.update_logged(tx, ids=[d.id for d in [*mine, lost] if d.id not in settled], log=page)
        return settled

    assert commits.run(settle) == {d.id for d in mine}
    assert DeliveryLog.objects.count() == 1 and DeliveryAttempt.objects.count() == 0
    stored = {d.id: d for d in Notification.objects(id__in=[d.id for d in [*mine, lost]])}
    assert all(stored[d.id].state == "delivered" and stored[d.id].attempts == 1 for d in mine)
    assert stored[lost.id].state == "pending" and stored[lost.id].attempts == 0  # the other worker's to settle
    shown = repository.list_attempts(deliveries=list(stored.values()))
    for d in [*mine, lost]:
        [one] = shown[d.id]
        assert (one["number"], one["ok"], one["status_code"], one["latency_ms"]) == (1, True, 204, 12)
        assert one["started_at"] == AT

    # A retry settles alone (its own page); both of its attempts are shown, in order.
    retried = stored[lost.id]
    retried.lease_token = "lease-of-another-worker"
    page = []
    commits.run(lambda tx: page.append(repository.create_log(
        tx, attempts=[attempt(retried, ok=False, at=AT + timedelta(seconds=5), status=503)], now=AT)))
    commits.run(lambda tx: repository.update_settled(tx, doc=retried, changes={"state": "failed"}, log=page[0]))
    shown = repository.list_attempts(deliveries=[Notification.objects.get(id=lost.id)])[lost.id]
    assert [(one["number"], one["ok"]) for one in shown] == [(1, True), (1, False)]


def test_attempts_logged_one_by_one_before_are_shown_with_the_pages(db: None) -> None:
    older = delivery(10, attempts=2)  # two attempts made by the version before
    for number in (2, 1):
        DeliveryAttempt(delivery_id=older.id, number=number, channel="webhook", started_at=AT + timedelta(
            seconds=number), status_code=503, latency_ms=30, error="HTTP 503", ok=False).save()
    commits = GroupCommit(name="test")

    def third(tx):
        page = repository.create_log(tx, attempts=[attempt(older, ok=True, at=AT + timedelta(seconds=9))], now=AT)
        assert repository.update_settled(tx, doc=older, changes={"state": "delivered"}, log=page)

    commits.run(third)
    [stored] = Notification.objects(id=older.id)
    shown = repository.list_attempts(deliveries=[stored])[older.id]
    assert [(one["number"], one["ok"], one["status_code"]) for one in shown] == [
        (1, False, 503), (2, False, 503), (3, True, 204)]
    assert [one["started_at"] for one in shown] == [AT + timedelta(seconds=s) for s in (1, 2, 9)]


def test_a_lease_taken_after_the_settle_read_it_is_not_overwritten(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The settle reads which deliveries it still holds, then writes them by id. Another worker
    # leasing one in between (its lease ran out during the send) must win: the write conflicts,
    # the transaction is tried again, and the second read sees the other lease.
    held = delivery(20)
    from services.notify.repository import deliveries

    read = deliveries.find_by_ids
    raced: list[str] = []
    reads = []

    def read_then_race(*args, **kwargs):
        found = read(*args, **kwargs)
        reads.append([d["lease_token"] for d in found])
        if not raced:  # the other worker's claim, committed after this transaction's read
            raced.append(held.id)
            Notification.objects(id=held.id).update(set__lease_token="lease-of-another-worker")
        return found

    monkeypatch.setattr(deliveries, "find_by_ids", read_then_race)
    commits = GroupCommit(name="test")
    page = []

    def settle(tx):
        page[:] = [repository.create_log(tx, attempts=[attempt(held, ok=True, at=AT)], now=AT)]
        return repository.update_settled_many(tx, settles=[(held, {"state": "delivered"})], log=page[0])

    assert commits.run(settle) == set()
    assert reads == [["lease-1"], ["lease-of-another-worker"]]  # the write conflicted; read again
    [stored] = Notification.objects(id=held.id)
    assert (stored.state, stored.attempts, stored.lease_token) == ("pending", 0, "lease-of-another-worker")


def test_a_claim_takes_only_deliveries_still_free_when_it_writes(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # A claim reads which deliveries are free (pending, lease run out), then leases them by id. One
    # settled by another worker in between is not leased again: the write conflicts and the
    # retried claim reads it settled.
    free, settled_meanwhile = delivery(30), delivery(31)
    from services.notify.repository import deliveries

    read = deliveries.find_by_ids
    raced: list[str] = []

    def read_then_race(*args, **kwargs):
        found = read(*args, **kwargs)
        if not raced:
            raced.append(settled_meanwhile.id)
            Notification.objects(id=settled_meanwhile.id).update(set__state="delivered")
        return found

    monkeypatch.setattr(deliveries, "find_by_ids", read_then_race)
    now = AT + timedelta(minutes=2)  # both leases have run out
    taken = repository.update_leases(ids=[free.id, settled_meanwhile.id], now=now, lease=timedelta(seconds=30))
    assert [doc.id for doc in taken] == [free.id]
    assert (taken[0].lease_until, taken[0].body) == (now + timedelta(seconds=30), "x")  # its content, leased
    stored = {d.id: d for d in Notification.objects(id__in=[free.id, settled_meanwhile.id])}
    assert stored[free.id].lease_token == taken[0].lease_token != "lease-1"
    assert (stored[settled_meanwhile.id].state, stored[settled_meanwhile.id].lease_token) == ("delivered", "lease-1")
