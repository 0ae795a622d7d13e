"""With KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI set nothing embedded is started, by `complaints up` or by the
tests; with neither set and a Docker engine answering, the tests take testcontainers' servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shared.runtime import cli, embedded, supervisor
from tests.support import servers

pytestmark = pytest.mark.unit

EXTERNAL = {"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092", "MONGODB_URI": "mongodb://mongo.example:27017/?replicaSet=rs0"}


class Reached(Exception):
    """`up` got as far as creating topics on the broker it was given."""


@pytest.fixture
def no_embedded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every embedded starter replaced by one that records its name (and fails: it must not run)."""
    started: list[str] = []

    def refuse(name: str) -> Any:
        def start(*_: Any, **__: Any) -> Any:
            started.append(name)
            raise AssertionError(f"{name} started although the servers were configured")
        return start

    monkeypatch.setattr(embedded, "start_kafka", refuse("embedded Kafka"))
    monkeypatch.setattr(embedded, "start_mongodb", refuse("embedded store"))
    monkeypatch.setattr(supervisor, "start_embedded_stores", refuse("embedded stores"))
    return started


def test_up_with_both_servers_configured_starts_nothing_embedded(
        no_embedded: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[str] = []

    async def create_topics(*, bootstrap: str, **_: Any) -> list[str]:
        asked.append(bootstrap)
        raise Reached

    monkeypatch.setattr(embedded, "create_topics", create_topics)
    result = CliRunner().invoke(cli.app, ["up", "--data-dir", str(tmp_path)], env=EXTERNAL)

    assert isinstance(result.exception, Reached), result.output
    assert asked == [EXTERNAL["KAFKA_BOOTSTRAP_SERVERS"]] and no_embedded == []


def test_the_tests_use_the_configured_servers_and_start_nothing(
        no_embedded: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in EXTERNAL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(servers, "docker_available", lambda: pytest.fail("Docker asked about"))
    with servers.real_servers(workdir=tmp_path) as given:
        assert (given.bootstrap, given.mongodb_uri) == tuple(EXTERNAL.values())
    assert no_embedded == []


def test_the_tests_take_testcontainers_when_a_docker_engine_answers(
        no_embedded: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in EXTERNAL:
        monkeypatch.delenv(name, raising=False)
    containers = servers.Servers(bootstrap="127.0.0.1:39092", mongodb_uri="mongodb://127.0.0.1:37017")

    @contextmanager
    def from_docker() -> Iterator[servers.Servers]:
        yield containers

    monkeypatch.setattr(servers, "docker_available", lambda: True)
    monkeypatch.setattr(servers, "_containers", from_docker)
    with servers.real_servers(workdir=tmp_path) as given:
        assert given is containers
    assert no_embedded == []
