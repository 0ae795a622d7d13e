"""`complaints topics` for a production cluster (issue 24): the replication factor and each topic's
retention.ms go into the CreateTopics request; progress is printed."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from shared.runtime import cli, embedded
from shared.topics import TopicSettings

pytestmark = pytest.mark.unit

DAY_MS = 24 * 3600 * 1000


def test_dead_letter_and_reply_topics_get_their_own_retention_by_default() -> None:
    topics = TopicSettings()
    configs = embedded.topic_configs(topics)
    dead = [topics.dead_letter(t) for t in topics.consumed()]
    assert dead and all(configs[t] == {"retention.ms": str(30 * DAY_MS)} for t in dead)
    assert configs[topics.intake_replies] == {"retention.ms": str(7 * DAY_MS)}
    assert topics.intake_events not in configs, "event topics keep the broker's default unless told"


def test_the_new_topic_requests_carry_replication_and_configs() -> None:
    topics = TopicSettings()
    configs = embedded.topic_configs(topics, retention_ms=14 * DAY_MS, dlq_retention_ms=DAY_MS,
                                     replies_retention_ms=3_600_000)
    requests = {t.name: t for t in embedded.new_topics(topics.all_topics(), partitions=6, replication_factor=3,
                                                         configs=configs)}
    assert set(requests) == set(topics.all_topics())
    assert all(t.num_partitions == 6 and t.replication_factor == 3 for t in requests.values())
    assert requests[topics.dead_letter(topics.intake_events)].topic_configs == {"retention.ms": str(DAY_MS)}
    assert requests[topics.intake_replies].topic_configs == {"retention.ms": "3600000"}
    assert requests[topics.intake_events].topic_configs == {"retention.ms": str(14 * DAY_MS)}


def test_the_command_passes_its_options_and_reports_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake_create(**kwargs: Any) -> list[str]:
        seen.update(kwargs)
        return kwargs["topics"][:2]

    monkeypatch.setattr(embedded, "create_topics", fake_create)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    result = CliRunner().invoke(cli.app, ["topics", "--partitions", "6", "--replication-factor", "3",
                                          "--retention-ms", "1209600000", "--dlq-retention-ms", "2592000000",
                                          "--replies-retention-ms", "604800000"])
    assert result.exit_code == 0, result.output
    topics = TopicSettings()
    assert seen["replication_factor"] == 3 and seen["partitions"] == 6 and seen["bootstrap"] == "kafka:9092"
    assert seen["configs"][topics.intake_replies] == {"retention.ms": "604800000"}
    assert seen["configs"][topics.dead_letter(topics.intake_events)] == {"retention.ms": "2592000000"}
    assert seen["configs"][topics.intake_events] == {"retention.ms": "1209600000"}
    assert "replication factor 3" in result.output
    assert f"topics: 2 created, {len(topics.all_topics()) - 2} existed" in result.output


def test_a_replication_factor_below_one_is_refused() -> None:
    result = CliRunner().invoke(cli.app, ["topics", "--replication-factor", "0"])
    assert result.exit_code == 2
    assert "replication-factor" in result.output


def test_the_kubernetes_topics_job_passes_replication_and_retention(repo_root: Any) -> None:
    import yaml

    job = yaml.safe_load((repo_root / "deploy/k8s/base/topics-job.yaml").read_text())
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    options = dict(zip(command[2::2], command[3::2], strict=True))
    assert command[:2] == ["complaints", "topics"]
    assert int(options["--replication-factor"]) >= 3
    assert options["--dlq-retention-ms"] == str(30 * DAY_MS)
    assert options["--replies-retention-ms"] == str(7 * DAY_MS)
    result = CliRunner().invoke(cli.app, ["topics", "--help"])
    assert all(option in result.output for option in options), "every option the job passes exists"
