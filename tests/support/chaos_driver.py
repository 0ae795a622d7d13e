"""The chaos run's clients: file complaints under Idempotency-Keys and drive a share of them to closed
or withdrawn, retrying through kills without ever applying an action twice on their side."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from tests.support.chaos import RETRYABLE, call

Tokens = Callable[[str, str], dict[str, str]]


class Plan(StrEnum):
    """The final state a complaint is driven to."""

    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


def plan_of(index: int, *, close_every: int) -> Plan:
    """1 in 10 withdrawn, 1 in `close_every` closed (never the same index), the rest left acknowledged."""
    if index % 10 == 7:
        return Plan.WITHDRAWN
    return Plan.CLOSED if index % close_every == 0 else Plan.ACKNOWLEDGED


@dataclass(frozen=True)
class Step:
    """One call of a party; `done` lists the states that show it took effect."""

    service: str
    action: str
    role: str
    body: dict[str, Any]
    done: frozenset[str]


STEPS: dict[Plan, tuple[Step, ...]] = {
    Plan.ACKNOWLEDGED: (),
    Plan.CLOSED: (
        Step("escalation", "propose_resolution", "agent",
             # Evidence now gates money offers: the drill's agent decides on what it has (issue 22).
             {"resolution": {"outcome": "refund"}, "reason": "invalid key confirmed",
              "override_missing_evidence": {"reason": "drill: the agent refunds on the issuer's word"}},
             frozenset({"resolution_proposed", "resolved", "closed"})),
        Step("escalation", "accept_resolution", "complainant", {}, frozenset({"resolved", "closed"})),
        Step("escalation", "close", "agent", {"reason": "refund paid"}, frozenset({"closed"})),
    ),
    Plan.WITHDRAWN: (
        Step("intake", "withdraw", "complainant", {"reason": "商家已退款", "code": "resolved-by-merchant"},
             frozenset({"withdrawn"})),
    ),
}


@dataclass
class Job:
    """The remaining steps of one complaint; check_first after an answer was lost on the way."""

    index: int
    ticket: str
    filed_at: str
    steps: list[Step]
    acknowledged: bool = False
    check_first: bool = False
    last_look: float = field(default_factory=time.monotonic)


class Driver:
    """Files `count` complaints with `filers` threads while `actors` threads act on them once acknowledged.

    While `paced()` holds, the filers together file one complaint per `pace_s`: the flow of events
    then lasts as long as the kills do (unpaced, 150 complaints were filed in 10 s and acted on in 20 s).
    """

    def __init__(self, *, urls: dict[str, str], count: int, close_every: int, body: Callable[[int], dict[str, Any]],
                 tokens: Tokens, filers: int = 8, actors: int = 6, deadline_s: float = 600.0,
                 pace_s: float = 0.0, paced: Callable[[], bool] = lambda: False) -> None:
        self.urls, self.count, self.close_every, self.body, self.tokens = urls, count, close_every, body, tokens
        self.filers, self.actors = filers, actors
        self.pace_s, self.paced = pace_s, paced
        self._next_filing = 0.0
        self._pace_lock = threading.Lock()
        self.deadline = time.monotonic() + deadline_s
        self.client = httpx.Client(timeout=15, limits=httpx.Limits(max_connections=32))
        self.agent = tokens("agent-chaos", "agent")
        self.tickets: dict[int, str] = {}
        self.counts: dict[str, int] = {"filed": 0, "replayed": 0, "actions": 0, "took_effect_409": 0,
                                       "lost_answers": 0}
        self.failures: list[str] = []
        self.acknowledged: set[str] = set()
        self._jobs: queue.PriorityQueue[tuple[float, int, Job]] = queue.PriorityQueue()
        self._open = 0
        self._filing = True
        self._lock = threading.Lock()

    @property
    def actions_planned(self) -> int:
        return sum(len(STEPS[plan_of(i, close_every=self.close_every)]) for i in range(self.count))

    def summary(self) -> str:
        c = self.counts
        done = c["actions"] + c["took_effect_409"] + c["lost_answers"]
        return (f"filed {c['filed']}/{self.count} (replayed {c['replayed']}), actions {done}/{self.actions_planned}, "
                f"waiting jobs {self._open}")

    def run(self) -> None:
        """File everything and finish every job, or record why not."""
        threads = [threading.Thread(target=self._act_loop, daemon=True) for _ in range(self.actors)]
        threads.append(threading.Thread(target=self._watch_loop, daemon=True))
        for t in threads:
            t.start()
        with ThreadPoolExecutor(self.filers) as pool:
            list(pool.map(self._file, range(self.count)))
        self._filing = False
        for t in threads:
            t.join(max(1.0, self.deadline - time.monotonic()))
        if self._open:
            self.failures.append(f"{self._open} complaints still had actions to take at the deadline")

    def _pace(self) -> None:
        with self._pace_lock:
            while self.pace_s and self.paced() and time.monotonic() < self._next_filing:
                time.sleep(0.05)
            self._next_filing = time.monotonic() + self.pace_s

    def _file(self, index: int) -> None:
        self._pace()
        try:
            answer = call(self.client, "POST", f"{self.urls['intake']}/v1/complaints", json=self.body(index),
                          headers={**self.agent, "Idempotency-Key": f"chaos-{index:04d}"}, deadline=self.deadline)
        except AssertionError as exc:
            self._fail(f"complaint {index} never filed: {exc}")
            return
        if answer.status_code != 201:
            self._fail(f"complaint {index}: HTTP {answer.status_code} {answer.text[:300]}")
            return
        created = answer.json()
        plan = plan_of(index, close_every=self.close_every)
        with self._lock:
            self.tickets[index] = created["ticket"]
            self.counts["filed"] += 1
            self.counts["replayed"] += answer.headers.get("Idempotent-Replayed") == "true"
            if STEPS[plan]:
                self._open += 1
                self._jobs.put((time.monotonic() + 1.0, index, Job(index, created["ticket"], created["filed_at"],
                                                                  list(STEPS[plan]))))

    def _fail(self, text: str) -> None:
        with self._lock:
            self.failures.append(text)

    def _act_loop(self) -> None:
        while time.monotonic() < self.deadline and (self._filing or self._open):
            try:
                due, order, job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            wait = due - time.monotonic()
            if wait > 0:
                self._jobs.put((due, order, job))
                time.sleep(min(wait, 0.2))
                continue
            try:
                delay = self._advance(job)
            except Exception as exc:  # noqa: BLE001 - any surprise fails the run by name, never a silent thread death
                self._fail(f"{job.ticket}: {type(exc).__name__}: {exc}")
                delay = None
            if delay is None:
                with self._lock:
                    self._open -= 1
            else:
                self._jobs.put((time.monotonic() + delay, order, job))

    def _headers(self, job: Job, step: Step) -> dict[str, str]:
        if step.role == "agent":
            return self.agent
        return self.tokens(f"u-chaos-{job.index:04d}", "complainant")

    def _case_state(self, job: Job) -> str | None:
        """The case's state, or None while escalation has not opened it."""
        answer = call(self.client, "GET", f"{self.urls['escalation']}/v1/cases/{job.ticket}", headers=self.agent,
                      deadline=self.deadline)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json()["state"]

    def _state(self, job: Job, step: Step) -> str | None:
        """The case state (escalation) or complaint status (intake) the step would change."""
        if step.service == "escalation":
            return self._case_state(job)
        answer = call(self.client, "GET", f"{self.urls['intake']}/v1/complaints/{job.ticket}", headers=self.agent,
                      deadline=self.deadline)
        answer.raise_for_status()
        return answer.json()["status"]

    def _advance(self, job: Job) -> float | None:
        """Take the job's next step; the delay before looking again, or None when it is finished."""
        if not job.acknowledged:
            if job.ticket not in self.acknowledged:
                if time.monotonic() - job.last_look < 60:
                    return 1.0
                job.last_look = time.monotonic()  # the listing may lag: ask escalation itself now and then
                if self._case_state(job) != "acknowledged":
                    return 1.0
            job.acknowledged = True
        step = job.steps[0]
        if job.check_first:
            # The last answer never came: the step may have happened, so look before sending it again.
            job.check_first = False
            if self._state(job, step) in step.done:
                return self._took_effect(job, "lost_answers")
        url = (f"{self.urls['escalation']}/v1/cases/{job.ticket}/actions/{step.action}" if step.service == "escalation"
               else f"{self.urls['intake']}/v1/complaints/{job.ticket}/withdraw")
        headers = {**self._headers(job, step), "Idempotency-Key": f"chaos-{job.ticket}-{step.action}"}
        try:
            answer = self.client.post(url, json=step.body, headers=headers)
        except httpx.TransportError:
            job.check_first = True
            return 0.5
        if answer.status_code in RETRYABLE:
            job.check_first = True
            return min(float(answer.headers.get("Retry-After", "1")), 2.0)
        if answer.status_code == 200:
            return self._took_effect(job, "actions")
        if answer.status_code == 409:
            if self._state(job, step) in step.done:
                return self._took_effect(job, "took_effect_409")
            return 0.3  # a concurrent change of the case: try again
        raise AssertionError(f"{step.action}: HTTP {answer.status_code} {answer.text[:300]}")

    def _took_effect(self, job: Job, counter: str) -> float | None:
        with self._lock:
            self.counts[counter] += 1
        job.steps.pop(0)
        return 0.0 if job.steps else None

    def _watch_loop(self) -> None:
        """Learn which complaints are acknowledged from intake's listing, so jobs need not poll one by one."""
        while time.monotonic() < self.deadline and (self._filing or self._open):
            # Only what is not yet known acknowledged: the listing's window then moves on with the run
            # instead of reading every complaint since the first (a large share of the store's work).
            waiting = [job for _, _, job in list(self._jobs.queue)
                       if not job.acknowledged and job.ticket not in self.acknowledged]
            if waiting:
                try:
                    self.acknowledged |= set(list_statuses(
                        self.client, self.urls["intake"], headers=self.agent, deadline=self.deadline,
                        status="acknowledged", filed_from=min(j.filed_at for j in waiting)))
                except Exception as exc:  # noqa: BLE001 - reported, and the watcher goes on
                    self._fail(f"listing acknowledged complaints: {type(exc).__name__}: {exc}")
            time.sleep(2.0)


def list_statuses(client: httpx.Client, intake: str, *, headers: dict[str, str], deadline: float,
                  **filters: str) -> dict[str, str]:
    """Ticket → status of every complaint intake lists for these filters (all pages)."""
    found: dict[str, str] = {}
    params: dict[str, Any] = {"limit": 100, **filters}
    while True:
        answer = call(client, "GET", f"{intake}/v1/complaints", params=params, headers=headers, deadline=deadline)
        answer.raise_for_status()
        page = answer.json()
        found.update({item["ticket"]: item["status"] for item in page["items"]})
        if not page["next_cursor"]:
            return found
        params["cursor"] = page["next_cursor"]
