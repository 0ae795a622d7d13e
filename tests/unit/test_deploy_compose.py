"""The compose file speaks the services' real settings and creates every topic they use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from services.escalation.config import EscalationSettings
from services.evidence.config import EvidenceSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from shared.runtime.cli import app as cli_app
from shared.settings import env_names
from shared.topics import TopicSettings

pytestmark = pytest.mark.unit

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "docker-compose.yml"
SETTINGS = {"intake": IntakeSettings, "evidence": EvidenceSettings,
            "escalation": EscalationSettings, "notify": NotifySettings}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_runs_every_service_from_the_one_image(compose: dict[str, Any]) -> None:
    for name in SETTINGS:
        service = compose["services"][name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["command"] == [f"complaints-{name}"]
    assert {"kafka", "mongodb", "otel-collector", "jaeger"} <= set(compose["services"])
    assert "KAFKA_PROCESS_ROLES" in compose["services"]["kafka"]["environment"]  # KRaft
    assert "--replSet" in compose["services"]["mongodb"]["command"]


def test_every_variable_compose_sets_is_a_settings_field(compose: dict[str, Any]) -> None:
    for name, settings_cls in SETTINGS.items():
        known = env_names(settings_cls) | env_names(TopicSettings)
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
    topics_job = compose["services"]["topics"]["environment"]
    assert set(topics_job) <= env_names(TopicSettings) | {"KAFKA_BOOTSTRAP_SERVERS"}


def test_the_topic_job_creates_every_topic_the_services_use(compose: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    job = compose["services"]["topics"]
    command = get_command(cli_app)
    assert job["command"][:2] == ["complaints", "topics"]
    assert "topics" in command.commands  # type: ignore[attr-defined]
    for key, value in job["environment"].items():
        monkeypatch.setenv(key, value)
    created = set(TopicSettings().all_topics())
    for name, settings_cls in SETTINGS.items():
        for key, value in compose["services"][name]["environment"].items():
            monkeypatch.setenv(key, value)
        topics = settings_cls().topics
        used = set(topics.consumed()) | {topics.intake_replies, topics.public_status}
        used |= {topics.dead_letter(t) for t in topics.consumed()}
        assert used <= created, f"{name} uses topics the job does not create: {sorted(used - created)}"
