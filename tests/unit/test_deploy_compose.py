"""The compose file builds the one image once, starts each service after what it needs is healthy,
speaks the services' real settings and creates every topic they use; the image installs the lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.main import get_command

from services.escalation.config import EscalationSettings
from services.evidence.config import EvidenceSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from shared.runtime.cli import app as cli_app
from shared.settings import env_names
from shared.topics import TopicSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
LOCK = ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETTINGS = {"intake": IntakeSettings, "evidence": EvidenceSettings,
            "escalation": EscalationSettings, "notify": NotifySettings}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _one_shot(compose: dict[str, Any]) -> set[str]:
    """Services others wait on to finish (the topics job, helpers), not to be healthy."""
    return {dep for service in compose["services"].values() for dep, how in service.get("depends_on", {}).items()
            if how["condition"] == "service_completed_successfully"}


def _interpolated_default(value: str) -> str:
    """`name:${VAR:-default}` as compose reads it when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_builds_the_one_image_once_and_runs_every_service_from_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    builders = {name: s for name, s in services.items() if "build" in s}
    assert len(builders) == 1, f"the image is built by {sorted(builders)}"
    (builder,) = builders.values()
    assert builder["build"]["dockerfile"] == "deploy/Dockerfile"
    image = builder["image"]
    assert _interpolated_default(image) == f"complaints-suite:{PYPROJECT['project']['version']}"
    for name in [*SETTINGS, "topics"]:
        assert services[name]["image"] == image, f"{name} runs another image"
    for name in SETTINGS:
        assert services[name]["command"] == [f"complaints-{name}"]
        assert services[name].get("pull_policy") == "never"  # built here, never looked for in a registry
    assert {"kafka", "mongodb", "otel-collector", "jaeger"} <= set(services)
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft
    assert "--replSet" in services["mongodb"]["command"]


def test_every_long_running_service_has_a_healthcheck_and_waits_for_healthy_ones(compose: dict[str, Any]) -> None:
    services = compose["services"]
    one_shot = _one_shot(compose)
    assert "topics" in one_shot
    for name, service in services.items():
        if name in one_shot:
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        for dep, how in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dep in one_shot else "service_healthy"
            assert how["condition"] == wanted, f"{name} waits for {dep} to be {how['condition']}"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_service_is_healthy_when_its_own_readyz_answers(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    port = service["environment"][f"{name.upper()}_HTTP_PORT"]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
    # /readyz waits up to 2 s for the store and 2 s for the broker: the check must wait longer.
    assert int(service["healthcheck"]["timeout"].removesuffix("s")) > 4
    assert {"kafka", "mongodb", "otel-collector"} <= set(service["depends_on"])


def test_traces_go_through_the_collector_to_jaeger_v2(compose: dict[str, Any]) -> None:
    services = compose["services"]
    image, _, tag = services["jaeger"]["image"].partition(":")
    assert image == "jaegertracing/jaeger" and tag.split(".")[0] == "2", services["jaeger"]["image"]
    assert not any("all-in-one" in s.get("image", "") for s in services.values())  # Jaeger v1, end of life
    collector = yaml.safe_load((COMPOSE.parent / "otel-collector.yaml").read_text())
    exporters = collector["service"]["pipelines"]["traces"]["exporters"]
    assert [collector["exporters"][e]["endpoint"] for e in exporters] == ["jaeger:4317"]  # Jaeger's OTLP gRPC
    assert "health_check" in collector["service"]["extensions"]
    for name in SETTINGS:
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"


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


def _locked() -> dict[str, str]:
    """Name → pinned version of every requirement in the lockfile, each of which carries hashes."""
    pins: dict[str, str] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        line = entry.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", line)
        assert match, f"not a pinned requirement: {line.splitlines()[0]}"
        assert "--hash=sha256:" in entry, f"{match[1]} is locked without a hash"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_the_image_installs_the_runtime_dependencies_from_the_hash_checked_lock() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert "--require-hashes" in dockerfile and "-r requirements.lock" in dockerfile
    assert re.search(r"pip install --no-deps \.", dockerfile), "the package itself must not resolve anything"
    pins = _locked()
    for spec in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {name}=={pins[name]}, pyproject wants {requirement.specifier}"
    extras = PYPROJECT["project"]["optional-dependencies"]
    embedded = {canonicalize_name(Requirement(s).name) for s in extras["embedded"]}
    assert not embedded & set(pins), "the production image must not carry the embedded servers"
