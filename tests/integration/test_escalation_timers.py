"""Durable timers across processes: two instances fire each due timer once, a restart refires nothing."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from services.escalation.config import EscalationSettings
from services.escalation.models import Case, Timer
from services.escalation.repository import claims
from services.escalation.service import firing
from services.escalation.service.rules import load_rules
from shared import store
from shared.envelope import utcnow
from shared.runtime import embedded, supervisor
from shared.store import UnitOfWork
from shared.topics import TopicSettings
from tests.support.escalation_cases import FAST_POLICY, filed, read_all, send
from tests.support.servers import Servers, own_database
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

FIRST_BATCH, SECOND_BATCH = 40, 12


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def env(service_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **service_env, "ESCALATION_POLICY_PATH": str(FAST_POLICY),
            "ESCALATION_TIMER_POLL_INTERVAL_S": "0.2", "ESCALATION_TIMER_LEASE_S": "5",
            # Small claims so both instances get a share of a burst of due timers.
            "ESCALATION_TIMER_BATCH_SIZE": "4", "ESCALATION_TIMER_GROUP_SIZE": "2",
            "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[supervisor.ServiceProcess]]:
    processes: list[supervisor.ServiceProcess] = []
    yield processes
    supervisor.stop_all([p.child for p in processes])


def start(env: dict[str, str], started: list, log_dir: Path) -> supervisor.ServiceProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    process = supervisor.start_service(name="escalation", port=embedded.free_port(), env=env, log_dir=log_dir)
    started.append(process)
    supervisor.wait_ready([process], timeout=90)
    return process


def sla_counts(env: dict[str, str], topics: TopicSettings, ids: set[str]) -> Counter:
    messages = read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events)
    return Counter((m["type"], m["complaint_id"], m.get("clock")) for m in messages
                   if m.get("complaint_id") in ids and m["type"] in {"SlaWarning", "SlaBreached"})


def breached_all(env: dict[str, str], topics: TopicSettings, ids: set[str]) -> Counter | None:
    counts = sla_counts(env, topics, ids)
    done = {cid for (kind, cid, _) in counts if kind == "SlaBreached"}
    return counts if done == ids else None


def file_batch(env: dict[str, str], topics: TopicSettings, n: int) -> set[str]:
    events = [filed(category="slow-or-rude-service", merchant=f"m-{i % 5}") for i in range(n)]
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=events)
    return {e.complaint_id for e in events}


def test_two_instances_fire_each_due_timer_once_and_a_restart_refires_nothing(
        env: dict[str, str], topics: TopicSettings, started: list, tmp_path: Path) -> None:
    first = start(env, started, tmp_path / "a")
    second = start(env, started, tmp_path / "b")
    ids = file_batch(env, topics, FIRST_BATCH)
    counts = wait_until(lambda: breached_all(env, topics, ids), timeout=150, interval=0.5,
                        what="every first-response clock of the first batch to breach")
    expected = {(kind, cid, "first_response") for cid in ids for kind in ("SlaWarning", "SlaBreached")}
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    db = MongoClient(env["MONGODB_URI"])[env["ESCALATION_MONGODB_DB"]]
    owners = {t["fired_by"] for t in db.timers.find({"state": "fired"}, {"fired_by": 1})}
    assert len(owners) == 2, owners

    # One instance dies hard, the other stops; complaints filed meanwhile wait in the topic.
    os.killpg(first.child.process.pid, signal.SIGKILL)
    first.child.process.wait(timeout=10)
    second.child.stop()
    more = file_batch(env, topics, SECOND_BATCH)
    start(env, started, tmp_path / "c")
    everyone = ids | more
    counts = wait_until(lambda: breached_all(env, topics, everyone), timeout=150, interval=0.5,
                        what="the second batch to breach after the restart")
    assert set(counts) == {(k, cid, "first_response") for cid in everyone for k in ("SlaWarning", "SlaBreached")}
    assert set(counts.values()) == {1}


def test_a_timer_claimed_by_an_owner_that_died_fires_once_after_its_lease_runs_out(
        env: dict[str, str], topics: TopicSettings, started: list, tmp_path: Path) -> None:
    if not any(p.child.alive() for p in started):
        start(env, started, tmp_path / "d")
    store.connect(uri=env["MONGODB_URI"], db=env["ESCALATION_MONGODB_DB"], timeout_ms=3000)
    # Filed 8 s ahead: its 4.3 s clock falls due well after the doomed claim below, however late the
    # service consumes the filing.
    event = filed(category="slow-or-rude-service").model_copy(update={"filed_at": utcnow() + timedelta(seconds=8)})
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    ids = {cid := event.complaint_id}
    breach = wait_until(lambda: Timer.objects(complaint_id=cid, clock="first_response", kind="breach").first(),
                        timeout=30, interval=0.05, what="the breach timer")
    # A doomed instance claims the breach timer (and its warning, due 0.9 s before it) ahead of the
    # service, seconds before they fall due, and never fires them. (Claiming once the warning had
    # fired left the service 0.9 s to take the breach first: a busy machine sometimes did.)
    taken: dict[str, dict] = {}
    scan = claims.DueScan()

    def doomed_holds_the_breach() -> bool:
        # A claim round stops where the service moved the shared due floor meanwhile (claims.claim_due:
        # its compare-and-set fails); the doomed instance claims again, as its own loop would.
        rows = claims.claim_due(owner="doomed", lease_s=3, limit=2, now=breach.due_at, scan=scan)
        taken.update({t["_id"]: t for t in rows})
        return breach.id in taken

    wait_until(doomed_holds_the_breach, timeout=5, interval=0.05, what="the doomed instance's claim of the breach")
    claimed = taken[breach.id]
    counts = wait_until(lambda: breached_all(env, topics, ids), timeout=60, interval=0.5,
                        what="the breach after the lease ran out")
    assert counts[("SlaBreached", cid, "first_response")] == 1
    fired = Timer.objects(id=breach.id).first()
    assert fired.fired_by != "doomed" and fired.fired_at >= claimed["lease_until"]
    settings = EscalationSettings(policy_path=FAST_POLICY)
    late = firing.fire(UnitOfWork.standalone(), timer=claimed, owner="doomed", rules=load_rules(settings=settings),
                       topic=topics.escalation_events)
    assert late is False
    assert sla_counts(env, topics, ids)[("SlaBreached", cid, "first_response")] == 1


def test_timer_and_case_indexes_of_earlier_versions_are_dropped_when_the_store_is_prepared(
        servers: Servers, namespace: str) -> None:
    with own_database(servers, f"{namespace}_timer_indexes"):
        timers = store.database()[Timer._get_collection_name()]
        timers.create_index([("state", 1), ("lease_until", 1)])
        timers.create_index([("complaint_id", 1), ("clock", 1), ("kind", 1)], unique=True)
        cases = store.database()[Case._get_collection_name()]
        cases.create_index([("state", 1), ("opened_at", 1)])
        store.ensure_indexes(Timer, Case)  # as a starting service does
        # Each one cost every timer write; the id and the due query's index are what is left.
        assert set(timers.index_information()) == {"_id_", "state_1_due_at_1"}
        # A case is updated by every timer fire: only the indexes a query uses are left.
        assert set(cases.index_information()) == {
            "_id_", "ticket_1", "platform_1_opened_at_1", "platform_1_merchant_id_1_state_1",
            "platform_1_merchant_id_1_breach_count_1", "platform_1_resolved_at_1", "platform_1_next_due_at_1"}
