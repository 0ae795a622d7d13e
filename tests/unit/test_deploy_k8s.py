"""The Kubernetes manifests are valid objects and speak the services' real settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.escalation.config import EscalationSettings
from services.evidence.config import EvidenceSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from shared.settings import env_names
from shared.topics import TopicSettings

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS = {"intake": IntakeSettings, "evidence": EvidenceSettings,
            "escalation": EscalationSettings, "notify": NotifySettings}
KUBERNETES_VERSION = "1.31.0"


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


DOCS = _documents()


def _one(kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}"
    return matches[0]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_validates_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_service_has_probes_resources_and_an_autoscaler(name: str) -> None:
    container = _one("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == [f"complaints-{name}"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    hpa = _one("HorizontalPodAutoscaler", name)
    partitions = int(_one("ConfigMap", "complaints-config")["data"]["COMPLAINTS_TOPIC_PARTITIONS"])
    assert hpa["spec"]["scaleTargetRef"]["name"] == name
    assert hpa["spec"]["maxReplicas"] <= partitions  # more members than partitions would idle


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_variable_a_pod_gets_is_a_settings_field(name: str) -> None:
    container = _one("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    variables = {e["name"] for e in container.get("env", [])}
    variables |= set(_one("ConfigMap", "complaints-config")["data"])
    variables |= set(_one("Secret", "complaints-secrets")["stringData"])
    unknown = variables - env_names(SETTINGS[name]) - env_names(TopicSettings)
    assert not unknown, f"{name} gets variables no setting reads: {sorted(unknown)}"


def test_the_topic_job_creates_the_topics_with_the_configured_partitions() -> None:
    job = _one("Job", "complaints-topics")
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    partitions = _one("ConfigMap", "complaints-config")["data"]["COMPLAINTS_TOPIC_PARTITIONS"]
    assert command[:2] == ["complaints", "topics"]
    assert command[command.index("--partitions") + 1] == partitions
