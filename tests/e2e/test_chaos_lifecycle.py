"""The chaos run: 2,000 complaints go through the whole lifecycle while each service in turn is
SIGKILLed at a random moment and restarted on its port. Afterwards no complaint is lost, no
notification or timeline entry is doubled, and every complaint is in its expected final state.

The 2,000-complaint run takes tens of minutes and sits behind the `chaos` marker; the default run
goes through the same scenario with 150 complaints, so every run of the suite kills every service
once, each while its consumers have a backlog, and its deadlines are sized to the run: something lost
fails it within minutes. The seed is printed; `CHAOS_SEED=N` repeats the kill order and moments. The
two sizes are separate selections (they share this module's topics and databases)."""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import mint_token
from shared.envelope import utcnow
from shared.runtime import embedded, supervisor
from shared.runtime.supervisor import ServiceProcess
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support.chaos import call, consumed, kill_and_restart, service_lag
from tests.support.chaos_checks import Verdict, check_complaint, expected_webhooks, webhook_ledger
from tests.support.chaos_driver import Driver, Plan, list_statuses, plan_of
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

CLOSE_EVERY = 10  # 1 in 4 was far too slow on two shared cores; 1 in 10 is withdrawn as well
PLATFORM = "kamen-1"
SEED = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))


def say(text: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", flush=True)


def token(subject: str, role: str) -> dict[str, str]:
    minted = mint_token(secret=ServiceSettings().auth_secret, subject=subject, role=role, platform=PLATFORM)
    return {"Authorization": f"Bearer {minted}"}


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def env(service_env: dict[str, str]) -> dict[str, str]:
    """Fast consumers and deliveries, and no spans: traces are not what this run checks, and storing
    them would cost the store a large share of its writes on two cores. Intake's reconciler runs at
    its defaults: behind the backlogs that the kills leave it must wait, not re-send."""
    return {**os.environ, **service_env, "OTEL_SDK_DISABLED": "true",
            "NOTIFY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "NOTIFY_RETRY_BASE_S": "0.5",
            "NOTIFY_DELIVERY_LEASE_S": "15", "NOTIFY_WEBHOOK_TIMEOUT_S": "5",
            "NOTIFY_CONCURRENCY_PER_ENDPOINT": "4"}


@pytest.fixture(scope="module")
def topics(env: dict[str, str]) -> TopicSettings:
    return create_topics(env=env)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chaos-logs")


@pytest.fixture(scope="module")
def spawner() -> Iterator[ThreadPoolExecutor]:
    """The one thread that starts service processes: a child gets SIGTERM when the *thread* that
    started it ends (PR_SET_PDEATHSIG), so restarts must not run on the short-lived chaos thread."""
    with ThreadPoolExecutor(1, thread_name_prefix="spawner") as pool:
        yield pool


@pytest.fixture(scope="module")
def suite(env: dict[str, str], topics: TopicSettings, log_dir: Path,
          spawner: ThreadPoolExecutor) -> Iterator[dict[str, ServiceProcess]]:
    """The four services on fixed ports; the run replaces an entry whenever it restarts one."""
    running = spawner.submit(lambda: {
        name: supervisor.start_service(name=name, port=embedded.free_port(), env=env, log_dir=log_dir)
        for name in supervisor.SERVICES}).result()
    try:
        supervisor.wait_ready(list(running.values()), timeout=120)
        yield running
    finally:
        supervisor.stop_all([s.child for s in running.values()])


class Chaos(threading.Thread):
    """Kills every service once, in a seeded random order and at random moments, each only once its
    consumers have a backlog (records on their topics not yet committed): every service consumes."""

    def __init__(self, *, suite: dict[str, ServiceProcess], env: dict[str, str], topics: TopicSettings,
                 log_dir: Path, spawner: ThreadPoolExecutor, size: Size) -> None:
        super().__init__(name="chaos", daemon=True)
        self.suite, self.env, self.topics, self.log_dir, self.spawner = suite, env, topics, log_dir, spawner
        self.size = size
        self.rng = random.Random(SEED)
        self.kills: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def backlog(self, consumers: list[tuple[str, str]]) -> int:
        return service_lag(bootstrap=self.env["KAFKA_BOOTSTRAP_SERVERS"], consumers=consumers,
                           partitions=self.topics.partitions)

    def run(self) -> None:
        try:
            for name in self.rng.sample(supervisor.SERVICES, len(supervisor.SERVICES)):
                time.sleep(self.rng.uniform(*self.size.pause_s))  # the random moment of this kill
                lag = self.wait_for_backlog(consumed(self.suite[name]))
                started = time.monotonic()
                self.suite[name] = self.spawner.submit(kill_and_restart, self.suite[name],
                                                       log_dir=self.log_dir).result()
                self.kills.append({"service": name, "backlog": lag, "down_s": round(time.monotonic() - started, 1)})
                say(f"killed {name} (backlog {lag}), ready again after {self.kills[-1]['down_s']} s")
        except BaseException as exc:  # reported by the test thread
            self.error = exc

    def wait_for_backlog(self, consumers: list[tuple[str, str]]) -> int:
        """The service's lag once it has one; 0 if none showed up within the size's wait."""
        deadline = time.monotonic() + self.size.backlog_wait_s
        while time.monotonic() < deadline:
            if lag := self.backlog(consumers):
                return lag
            time.sleep(0.1)
        return 0


def complaint_body(index: int) -> dict[str, Any]:
    """A distinct complainant and order per index, paid two hours ago (no clock runs out in the run)."""
    now = utcnow()
    return {
        "platform": PLATFORM, "merchant": {"id": f"m-{index % 40:03d}", "name": "星辰卡铺"},
        "complainant": {"id": f"u-chaos-{index:04d}", "display_name": "小王", "language": "zh-CN",
                        "contact": {"phone": f"139{index:08d}", "email": f"c{index:04d}@example.com"}},
        "category": "invalid-card-key",
        "order": {"number": f"CH{index:06d}", "item": "100元游戏点卡", "denomination": "100元", "quantity": 1,
                  "amount": 10000, "currency": "CNY", "paid_at": (now - timedelta(hours=2)).isoformat(),
                  "channel": "alipay", "transaction_id": f"2026112322{index:09d}"},
        "description": {"what_happened": "购买的点卡卡密提示已被使用",
                        "occurred_at": (now - timedelta(minutes=115)).isoformat()},
        "demand": {"type": "refund", "mode": "full"},
    }


def complaint_of(client: httpx.Client, urls: dict[str, str], ticket: str, plan: Plan,
                 deadline: float) -> tuple[Verdict, str | None]:
    """Check one complaint in intake, escalation and evidence; the second value names a lost one."""
    agent = token("agent-chaos", "agent")
    complaint = call(client, "GET", f"{urls['intake']}/v1/complaints/{ticket}", headers=agent, deadline=deadline)
    case = call(client, "GET", f"{urls['escalation']}/v1/cases/{ticket}", headers=agent, deadline=deadline)
    if complaint.status_code == 404 or case.status_code == 404:
        return Verdict(), f"{ticket}: intake {complaint.status_code}, escalation {case.status_code}"
    evidence = None
    if plan is not Plan.ACKNOWLEDGED:
        answer = call(client, "GET", f"{urls['evidence']}/v1/complaints/{ticket}/evidence-file", headers=agent,
                      deadline=deadline)
        evidence = answer.json().get("status") if answer.status_code == 200 else f"HTTP {answer.status_code}"
    return check_complaint(plan=plan, complaint=complaint.json(), case=case.json(), evidence_status=evidence), None


def describe(client: httpx.Client, urls: dict[str, str], ticket: str, plan: Plan) -> str:
    """One offender as intake and escalation see it, for a failure message."""
    agent = token("agent-chaos", "agent")
    complaint = client.get(f"{urls['intake']}/v1/complaints/{ticket}", headers=agent).json()
    case = client.get(f"{urls['escalation']}/v1/cases/{ticket}", headers=agent).json()
    steps = [f"{e['service']}:{e['step']}" for e in complaint.get("timeline", []) if e["service"] != "notify"]
    return (f"{ticket} (want {plan}): intake {complaint.get('status')} {steps}; escalation {case.get('state')} "
            f"{[h['action'] for h in case.get('history', [])]}")


def first(items: list[str], n: int = 5) -> str:
    return f"{len(items)}, first: " + "; ".join(items[:n])


def check_every_complaint(client: httpx.Client, urls: dict[str, str], tickets: dict[str, Plan],
                          wait_s: float) -> None:
    """Lost, doubled and unexpected fail at once; a missing step gets `wait_s` to arrive."""
    deadline = time.monotonic() + wait_s
    pending: dict[str, Plan] = dict(tickets)
    lost: list[str] = []
    doubled: list[str] = []
    wrong: list[str] = []
    missing: list[str] = []
    while pending:
        with ThreadPoolExecutor(8) as pool:
            verdicts = dict(zip(pending, pool.map(lambda t: complaint_of(client, urls, t, tickets[t], deadline),
                                                  pending), strict=True))
        lost += [why for _, why in verdicts.values() if why]
        doubled += [f"{t}: {d}" for t, (v, _) in verdicts.items() for d in v.doubled]
        wrong += [f"{t}: {w}" for t, (v, _) in verdicts.items() for w in v.wrong]
        missing = [f"{t}: {m}" for t, (v, why) in verdicts.items() if not why for m in v.missing]
        pending = {t: tickets[t] for t, (v, why) in verdicts.items() if v.missing and not why}
        if lost or doubled or wrong or not pending or time.monotonic() > deadline:
            break
        say(f"{len(pending)} complaints still miss a step, looking again")
    assert not lost, f"complaints lost: {first(lost)}"
    assert not doubled, f"timeline entries or case actions twice: {first(doubled)}"
    assert not wrong, f"unexpected steps: {first(wrong)}"
    assert not missing, f"complaints not in their expected final state: {first(missing)}"


@dataclass(frozen=True)
class Size:
    """How big a chaos run is, how its kills are paced, and how long each phase may take before the
    run fails (sized to the run: a lost complaint fails the small one within minutes)."""

    complaints: int
    pause_s: tuple[float, float]  # before each kill, drawn at random
    backlog_wait_s: float  # how long a kill waits for the service's consumers to have a backlog
    pace_s: float  # until the last kill, the clients file one complaint per pace_s (0: at once)
    clients_s: float  # the clients file and act on every complaint within this
    settle_s: float  # then every complaint reaches its final status within this
    webhooks_s: float  # and every webhook is heard within this


SIZES = [
    # 150 complaints paced over the kills (about a minute), so every kill finds the service's consumers
    # lagging while the complaints come in and are acted on.
    pytest.param(Size(150, (0.2, 1.5), 90, pace_s=0.5, clients_s=240, settle_s=150, webhooks_s=150), id="150"),
    pytest.param(Size(2000, (2.0, 12.0), 90, pace_s=0, clients_s=3000, settle_s=3000, webhooks_s=900),
                 id="2000", marks=pytest.mark.chaos),
]


def noting_seed(test: Any) -> Any:
    """The test, its failures noting the seed that repeats the run."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return test(*args, **kwargs)
        except BaseException as exc:
            exc.add_note(f"chaos seed {SEED}: CHAOS_SEED={SEED} repeats the kill order and moments")
            raise

    return run


@pytest.mark.parametrize("size", SIZES)
@noting_seed
def test_every_service_killed_once_loses_and_doubles_nothing(
    size: Size, suite: dict[str, ServiceProcess], env: dict[str, str], topics: TopicSettings, log_dir: Path,
    hooks: WebhookReceiver, spawner: ThreadPoolExecutor,
) -> None:
    """File the complaints, drive their share to closed or withdrawn, kill every service once, then check."""
    complaints = size.complaints
    urls = {name: svc.url for name, svc in suite.items()}  # restarts keep the ports
    started = time.monotonic()
    say(f"seed {SEED} (CHAOS_SEED={SEED} repeats the kill order and moments), {complaints} complaints, "
        f"1 in {CLOSE_EVERY} closed, 1 in 10 withdrawn")
    # The old internal names still filter (issue 23 keeps them as aliases of the public types).
    subscribed = httpx.post(f"{urls['notify']}/v1/subscriptions", json={"url": hooks.url, "event_types": [
                                "ComplaintFiled", "ComplaintStatusChanged", "ResolutionProposed"]},
                            headers=token("kamen-1-integration", "partner"), timeout=15)
    assert subscribed.status_code == 201, subscribed.text

    driver = Driver(urls=urls, count=complaints, close_every=CLOSE_EVERY, body=complaint_body, tokens=token,
                    deadline_s=size.clients_s, pace_s=size.pace_s, paced=lambda: chaos.is_alive())
    chaos = Chaos(suite=suite, env=env, topics=topics, log_dir=log_dir, spawner=spawner, size=size)
    quiet = threading.Event()

    def progress() -> None:
        while not quiet.wait(10):
            say(f"{time.monotonic() - started:4.0f}s {driver.summary()}, kills {len(chaos.kills)}, "
                f"webhooks {len(hooks.requests)}")

    threading.Thread(target=progress, daemon=True).start()
    chaos.start()
    try:
        driver.run()
        say(f"clients done after {time.monotonic() - started:.0f}s: {driver.summary()}")
        chaos.join(size.clients_s)
    finally:
        quiet.set()
    assert chaos.error is None, f"the chaos thread failed: {chaos.error!r}"
    assert not driver.failures, f"clients failed: {first(driver.failures)}"
    killed = Counter(k["service"] for k in chaos.kills)
    assert set(killed) == set(supervisor.SERVICES), f"not every service was killed: {chaos.kills}"
    assert all(k["backlog"] for k in chaos.kills), f"a service was killed with no backlog (seed {SEED}): {chaos.kills}"

    tickets = {driver.tickets[i]: plan_of(i, close_every=CLOSE_EVERY) for i in sorted(driver.tickets)}
    assert len(driver.tickets) == complaints and len(tickets) == complaints, \
        f"{len(driver.tickets)} filed, {len(tickets)} distinct tickets"
    client = httpx.Client(timeout=15)
    agent = token("agent-chaos", "agent")

    off: dict[str, str] = {}

    def settled() -> bool:
        listed = list_statuses(client, urls["intake"], headers=agent, deadline=time.monotonic() + 60)
        assert set(listed) <= set(tickets), f"complaints nobody filed: {sorted(set(listed) - set(tickets))[:5]}"
        off.clear()
        off.update({t: listed.get(t, "not listed") for t in tickets if listed.get(t) != tickets[t]})
        say(f"{time.monotonic() - started:4.0f}s {len(listed)} listed, {len(off)} not in their final status yet, "
            f"webhooks {len(hooks.requests)}")
        return not off

    try:
        wait_until(settled, timeout=size.settle_s, interval=5, what="every complaint in its final status")
    except AssertionError:
        raise AssertionError(f"{len(off)} complaints never reached their final status: " + " | ".join(
            describe(client, urls, t, tickets[t]) for t in list(off)[:3])) from None

    def unheard() -> dict[str, list[Any]]:
        seen = webhook_ledger(list(hooks.requests)).seen
        return {t: sorted(expected_webhooks(p) - set(seen.get(t, {})), key=str) for t, p in tickets.items()
                if expected_webhooks(p) - set(seen.get(t, {}))}

    def told_partner(ticket: str) -> str:
        complaint = client.get(f"{urls['intake']}/v1/complaints/{ticket}", headers=agent).json()
        steps = [(e["step"], e.get("detail")) for e in complaint.get("timeline", []) if e["service"] == "notify"]
        return f"{ticket} notify steps {steps}"

    def endpoint() -> str:
        found = client.get(f"{urls['notify']}/v1/subscriptions/{subscribed.json()['id']}",
                           headers=token("kamen-1-integration", "partner")).json()
        return f"endpoint {({k: found.get(k) for k in ('pending_deliveries', 'paused', 'consecutive_failures')})}"

    wait_until(lambda: not unheard(), timeout=size.webhooks_s, interval=1, what="every webhook",
               explain=lambda: f"unheard {first([f'{t} {k}' for t, k in unheard().items()])}; {endpoint()}; "
                               + " | ".join(told_partner(t) for t in list(unheard())[:3]))
    check_every_complaint(client, urls, tickets, wait_s=min(240, size.settle_s))

    webhooks = webhook_ledger(hooks.requests)
    assert not webhooks.doubled(), f"webhooks told twice under different ids: {first(webhooks.doubled())}"
    off = [f"{t}: {sorted(webhooks.seen.get(t, {}), key=str)}" for t, p in tickets.items()
           if set(webhooks.seen.get(t, {})) != expected_webhooks(p)]
    assert not off, f"webhooks missing or unexpected: {first(off)}"
    # A send cut by a kill, or whose lease ran out while the store stalled, goes out again under the same
    # webhook-id: the receiver folds it (at-least-once by contract), so it is counted, not failed.
    say(f"done in {time.monotonic() - started:.0f}s: {complaints} complaints {dict(Counter(tickets.values()))}, "
        f"clients {driver.counts}, kills {chaos.kills}, webhooks {webhooks.messages} (same id again {webhooks.resent})")
