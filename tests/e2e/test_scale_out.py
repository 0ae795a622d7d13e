"""Scale-out: two members of each service's consumer group split the partitions, each event is
handled once, and when one member is SIGKILLed the other takes its partitions and nothing is lost."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.runtime import embedded, supervisor
from shared.runtime.supervisor import ServiceProcess
from shared.topics import TopicSettings
from tests.support.intake_calls import body, token
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

AGENT = token("agent-1", "agent", platform=body()["platform"])
STEPS = {("evidence", "evidence_file_opened"), ("escalation", "case_opened"),
         ("notify", "notified_complainant")}


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def members(service_env: dict[str, str], topics: TopicSettings,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[ServiceProcess]]]:
    env = {**os.environ, **service_env}
    started: dict[str, list[ServiceProcess]] = {}
    for name in supervisor.SERVICES:
        started[name] = [
            supervisor.start_service(name=name, port=embedded.free_port(), env=env,
                                     log_dir=tmp_path_factory.mktemp(f"{name}{i}"))
            for i in range(2)
        ]
    everyone = [m for group in started.values() for m in group]
    try:
        supervisor.wait_ready(everyone, timeout=120)
        yield started
    finally:
        supervisor.stop_all([m.child for m in everyone])


def consumer_stats(member: ServiceProcess, topic: str) -> dict[str, Any] | None:
    try:
        ready = httpx.get(f"{member.url}/readyz", timeout=5).json()
    except httpx.HTTPError:
        return None
    return next((c for c in ready.get("consumers", []) if c["topic"] == topic), None)


def split_between(group: list[ServiceProcess], topic: str, partitions: int) -> bool:
    found = supervisor.consumed_partitions([m.url for m in group if m.child.alive()], topic=topic)
    return supervisor.partitions_split(found, partitions=partitions)


def file_many(url: str, count: int, tag: str) -> list[str]:
    tickets = []
    with httpx.Client(timeout=15, headers=AGENT) as client:
        for i in range(count):
            response = client.post(f"{url}/v1/complaints", json=body(**{"order.number": f"SO{tag}{i:04d}"}))
            assert response.status_code == 201, response.text
            tickets.append(response.json()["ticket"])
    return tickets


def all_processed_once(url: str, tickets: list[str]) -> bool:
    with httpx.Client(timeout=15, headers=AGENT) as client:
        for ticket in tickets:
            timeline = client.get(f"{url}/v1/complaints/{ticket}").json()["timeline"]
            steps = [(e["service"], e["step"]) for e in timeline]
            if not set(steps) >= STEPS:
                return False
            assert all(steps.count(s) == 1 for s in STEPS), f"{ticket} has a step twice: {steps}"
    return True


def test_two_members_split_partitions_and_survive_losing_one(
    members: dict[str, list[ServiceProcess]], topics: TopicSettings
) -> None:
    consumed = {"evidence": topics.intake_events, "escalation": topics.intake_events,
                "notify": topics.intake_events, "intake": topics.escalation_events}
    for name, topic in consumed.items():
        wait_until(lambda n=name, t=topic: split_between(members[n], t, topics.partitions), timeout=60,
                   what=f"{name}'s two members to split {topic}")

    intake_url = members["intake"][0].url
    first = file_many(intake_url, 24, "a") + file_many(members["intake"][1].url, 16, "b")
    wait_until(lambda: all_processed_once(intake_url, first), timeout=120, interval=0.5,
               what="40 complaints handled by the split groups")
    for name in ("evidence", "escalation", "notify"):
        handled = [consumer_stats(m, topics.intake_events)["processed"] for m in members[name]]  # type: ignore[index]
        assert sum(handled) == len(first), f"{name} applied {handled} for {len(first)} complaints"
        assert all(handled), f"{name}: one member did all the work: {handled}"

    for name in ("evidence", "escalation", "notify"):
        members[name][0].child.kill()
    second = file_many(intake_url, 30, "c")
    for name in ("evidence", "escalation", "notify"):
        wait_until(lambda n=name: split_between(members[n][1:], topics.intake_events, topics.partitions),
                   timeout=60, what=f"the surviving {name} member to own every partition")
    wait_until(lambda: all_processed_once(intake_url, first + second), timeout=120, interval=0.5,
               what="every complaint handled after losing a member")
    survivors = {name: consumer_stats(members[name][1], topics.intake_events)
                 for name in ("evidence", "escalation", "notify")}
    assert all(s and s["dead_lettered"] == 0 for s in survivors.values()), survivors
