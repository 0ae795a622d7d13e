"""Transactions of concurrent requests committed together on the real store: one commit for the
group, each caller's own outcome kept when one of them fails, each its own trace. Reads of
concurrent requests (a merchant's open-complaint count) answered by one query for the group."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from mongoengine import Document, StringField
from opentelemetry.sdk.trace import TracerProvider
from pymongo.errors import AutoReconnect, DuplicateKeyError

from services.intake.models import MerchantTally
from services.intake.repository import slots
from shared.contracts.escalation import SlaWarning
from shared.envelope import utcnow
from shared.outbox import OutboxEntry, emit
from shared.store import GroupCommit, GroupRead, UnitOfWork
from tests.support.outbox import outbox_records
from tests.support.servers import Servers, own_database
from tests.support.store_commands import COMMANDS
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


class Claim(Document):
    """A document with a unique key, like the open-complaint slot that guards filing."""

    id = StringField(primary_key=True)
    owner = StringField(required=True)
    meta = {"collection": "claims"}


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_group_commit", Claim, OutboxEntry, MerchantTally):
        yield


def claim(key: str, owner: str):
    def work(tx: UnitOfWork) -> str:
        tx.add([Claim(id=key, owner=owner)])
        emit(tx, topic="out", messages=[SlaWarning(complaint_id=key, ticket=owner, clock="first_response",
                                                   due_at=utcnow())])
        return owner
    return work


def queued_behind_a_held_commit(commits: GroupCommit, jobs: list, *, tracer=None,
                                traces: dict[int, str] | None = None) -> list[Future]:
    """Hold the committer in a first job while `jobs` queue up behind it, then let it go.

    With a tracer, job i is handed in from inside a span of its own, whose trace id goes in traces[i]."""
    release, started = threading.Event(), threading.Event()

    def first(tx: UnitOfWork) -> str:
        started.set()
        release.wait(30)
        return claim("first", "first")(tx)

    def submit(work, i: int):
        if tracer is None:
            return commits.run(work)
        with tracer.start_as_current_span(f"request {i}") as span:
            traces[i] = f"{span.get_span_context().trace_id:032x}"
            return commits.run(work)

    pool = ThreadPoolExecutor(max_workers=len(jobs) + 1)
    futures = [pool.submit(commits.run, first)]
    wait_until(started.is_set, timeout=10, what="the first job to hold the committer")
    futures += [pool.submit(submit, work, i) for i, work in enumerate(jobs)]
    wait_until(lambda: len(commits._waiting) == len(jobs), timeout=10, what="the jobs to queue")
    release.set()
    pool.shutdown(wait=True)
    return futures


def test_requests_queued_while_a_commit_runs_share_the_next_one(db: None) -> None:
    commits = GroupCommit(name="test")
    with COMMANDS.counting() as seen:
        futures = queued_behind_a_held_commit(commits, [claim(f"k{i}", f"o{i}") for i in range(10)])
    assert [f.result() for f in futures] == ["first", *[f"o{i}" for i in range(10)]]
    assert Claim.objects.count() == len(outbox_records()) == 11
    # The first alone, the ten queued behind it together: each collection written once for them.
    assert seen[("commitTransaction", "")] == 2
    assert seen[("insert", "claims")] == seen[("insert", "outbox")] == 2


def test_a_request_alone_commits_in_its_own_thread_and_one_arriving_meanwhile_waits_for_the_next(db: None) -> None:
    # Quiet: nothing is handed to another thread and back (each hand-over waits for the interpreter
    # lock while the cores are busy); what comes while it commits still goes in the next group.
    commits, ran_in = GroupCommit(name="test"), {}

    def noted(key: str):
        def work(tx: UnitOfWork) -> str:
            ran_in[key] = threading.current_thread()
            return claim(key, key)(tx)
        return work

    assert commits.run(noted("alone")) == "alone"
    assert ran_in["alone"] is threading.current_thread()
    futures = queued_behind_a_held_commit(commits, [noted("queued")])
    assert [f.result() for f in futures] == ["first", "queued"]
    assert ran_in["queued"].name == "group-commit-test"
    assert Claim.objects.count() == 3


def test_one_failing_job_in_a_group_fails_alone_and_the_others_are_kept(db: None) -> None:
    Claim(id="taken", owner="earlier").save()
    commits = GroupCommit(name="test")
    jobs = [claim("k0", "o0"), claim("taken", "o1"), claim("k2", "o2")]
    futures = queued_behind_a_held_commit(commits, jobs)
    assert [futures[0].result(), futures[1].result(), futures[3].result()] == ["first", "o0", "o2"]
    with pytest.raises(DuplicateKeyError):
        futures[2].result()
    assert {c.id: c.owner for c in Claim.objects} == {"first": "first", "k0": "o0", "k2": "o2", "taken": "earlier"}
    assert sorted(r.key for r in outbox_records()) == ["first", "k0", "k2"]


def test_each_job_in_a_group_writes_under_its_own_trace(db: None) -> None:
    tracer = TracerProvider().get_tracer("requests")
    commits = GroupCommit(name="test")
    traces: dict[int, str] = {}
    queued_behind_a_held_commit(commits, [claim(f"k{i}", f"o{i}") for i in range(4)], tracer=tracer, traces=traces)
    written = {r.key: r.headers["traceparent"].split("-")[1] for r in outbox_records() if r.key != "first"}
    assert written == {f"k{i}": traces[i] for i in range(4)}  # each its request's, none the committer's


def test_when_the_store_is_unreachable_every_job_of_the_group_fails_at_once(db: None) -> None:
    # A store outage met by the group fails every queued request now (they answer 503), instead of
    # each waiting out the store's timeout in turn behind the others; nothing of theirs is written.
    def unreachable(tx: UnitOfWork) -> str:
        raise AutoReconnect("store went away")

    commits = GroupCommit(name="test")
    futures = queued_behind_a_held_commit(commits, [claim("k0", "o0"), unreachable, claim("k2", "o2")])
    assert futures[0].result() == "first"
    for future in futures[1:]:
        with pytest.raises(AutoReconnect):
            future.result()
    assert [c.id for c in Claim.objects] == ["first"]
    assert commits.run(claim("k3", "o3")) == "o3"  # and the committer goes on once it is back


def asked_behind_a_held_read(read, keys: list) -> tuple[Future, list[Future], GroupRead]:
    """Hold the reader in a first read of keys[0] while the other keys are asked for, then let it go."""
    release, started = threading.Event(), threading.Event()

    def held(asked: list) -> dict:
        if not started.is_set():
            started.set()
            release.wait(30)
        return read(asked)

    reads = GroupRead(name="test", read=held)
    pool = ThreadPoolExecutor(max_workers=len(keys))
    first = pool.submit(reads.get, keys[0])
    wait_until(started.is_set, timeout=10, what="the first read to hold the reader")
    rest = [pool.submit(reads.get, key) for key in keys[1:]]
    wait_until(lambda: len(reads._waiting) == len(rest), timeout=10, what="the asks to queue")
    release.set()
    pool.shutdown(wait=True)
    return first, rest, reads


def test_merchant_counts_asked_while_a_read_runs_come_from_one_query_each_its_own(db: None) -> None:
    shards = {("m-busy", 0): 2, ("m-busy", 17): 1, ("m-busy", slots.TALLY_SHARDS - 1): 1, ("m-calm", 5): 1}
    MerchantTally._get_collection().insert_many([
        {"_id": slots._tally_id(platform="p", merchant_id=merchant, shard=shard), "open": n,
         "merchant": slots._merchant_key(platform="p", merchant_id=merchant)}
        for (merchant, shard), n in shards.items()])
    asked = [("p", "m-calm"), ("p", "m-busy"), ("p", "m-new"), ("p", "m-busy"), ("other-platform", "m-busy")]
    with COMMANDS.counting() as seen:
        first, rest, _ = asked_behind_a_held_read(slots._read_tallies, asked)
    assert first.result() == 1
    assert [f.result() for f in rest] == [4, 0, 4, 0]
    # The first alone, the four asked behind it (three merchants) in one query.
    assert seen[("find", "merchant_open_tallies")] == 2


def test_tally_documents_from_before_they_named_their_merchant_are_named_at_start_and_counted(db: None) -> None:
    MerchantTally._get_collection().insert_many([  # as earlier versions wrote them: no merchant field
        {"_id": slots._tally_id(platform="p", merchant_id="m-old", shard=shard), "open": 1} for shard in (0, 9, 40)])
    assert slots._read_tallies([("p", "m-old")]) == {("p", "m-old"): 0}
    assert slots.name_tally_merchants() == 3
    assert slots._read_tallies([("p", "m-old"), ("p", "m-other")]) == {("p", "m-old"): 3, ("p", "m-other"): 0}
    assert slots.name_tally_merchants() == 0


def test_a_failed_group_read_fails_every_caller_of_the_group_and_the_next_read_works(db: None) -> None:
    failing = [True]

    def read(keys: list) -> dict:
        if failing[0] and len(keys) > 1:
            raise AutoReconnect("store went away")
        return {key: key.upper() for key in keys}

    first, rest, reads = asked_behind_a_held_read(read, ["a", "b", "c"])
    assert first.result() == "A"
    for future in rest:
        with pytest.raises(AutoReconnect):
            future.result()
    failing[0] = False
    assert reads.get("d") == "D"  # and the reader goes on
