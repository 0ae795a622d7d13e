"""The recovery commands' own rules, without a broker: what `--since` accepts, a replay restoring headers
that were parked in hex, and the refusals that name what to give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from shared.runtime import cli
from shared.runtime.recovery.clients import since_moment
from shared.runtime.recovery.dlq import DeadLetter

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_since_takes_an_age_or_an_iso_time() -> None:
    assert since_moment("6h", now=NOW) == NOW - timedelta(hours=6)
    assert since_moment("30m", now=NOW) == NOW - timedelta(minutes=30)
    assert since_moment("7d", now=NOW) == NOW - timedelta(days=7)
    assert since_moment("2026-11-23T08:00:00+08:00") == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert since_moment("2026-11-23T08:00:00Z") == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert since_moment("2026-11-23T08:00:00") == datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "no zone: UTC"
    assert since_moment(None) is None


def test_since_refuses_anything_else_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as ended:
        since_moment("yesterday")
    assert ended.value.exit_code == 2
    assert "--since 'yesterday' is neither an ISO 8601 time nor an age" in capsys.readouterr().err


def test_a_replay_carries_the_original_headers_back_as_they_came() -> None:
    parked = DeadLetter(topic="complaints.intake.events.dlq", partition=1, offset=7, timestamp=NOW, key=b"c-1",
                        value=b"{}", replays=[], headers=[
                            ("content-type", b"application/json"), ("x-signature", b"\xff\x00".hex().encode()),
                            ("dlq-reason", b"handler error"), ("dlq-original-topic", b"complaints.intake.events"),
                            ("dlq-hex-headers", b"x-signature")])
    assert parked.id == "complaints.intake.events.dlq:1:7"
    assert parked.original_headers() == [("content-type", b"application/json"), ("x-signature", b"\xff\x00")]


def test_replay_wants_to_be_told_what(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # never reached: refused before
    result = CliRunner().invoke(cli.app, ["dlq", "replay"])
    assert result.exit_code == 2 and "name what to replay" in result.output and "--all" in result.output


def test_an_unknown_service_is_refused_by_name() -> None:
    result = CliRunner().invoke(cli.app, ["outbox", "list", "--service", "billing"])
    assert result.exit_code == 2
    assert "--service 'billing' is not a service of this suite" in result.output and "intake" in result.output
