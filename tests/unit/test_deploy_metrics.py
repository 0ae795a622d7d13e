"""What operators get to watch: the dashboard asks only for figures the services export, and both
compose and Kubernetes have every service's /metrics scraped."""

from __future__ import annotations

import functools
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from opentelemetry.exporter.prometheus._mapping import map_unit, sanitize_full_name
from opentelemetry.metrics import Counter, Histogram, ObservableCounter

from tests.unit.test_deploy_k8s import SETTINGS, _all

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "complaints-suite.json"
METRIC = re.compile(r"\b((?:complaints|http_server)_[a-z_]+)\b")


def _prometheus_names(instrument: Any) -> set[str]:
    """The sample names the Prometheus exporter gives an instrument's data."""
    name, unit = sanitize_full_name(instrument.name), map_unit(instrument.unit or "")
    if unit and not name.endswith(f"_{unit}"):
        name = f"{name}_{unit}"
    if isinstance(instrument, Counter | ObservableCounter):
        return {f"{name}_total"}
    if isinstance(instrument, Histogram):
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return {name}


@functools.cache
def documents() -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each service's app (not started: no servers needed) and its OpenAPI document."""
    built = {}
    for service, settings in SETTINGS.items():
        app = importlib.import_module(f"services.{service}.main").create_app(settings())
        TestClient(app).get("/healthz")  # the HTTP instrumentation makes its instruments with the app's middleware
        built[service] = (app, app.openapi())
    return built


@functools.cache
def exported() -> dict[str, set[str]]:
    """Every sample name each service's /metrics can carry: the instruments its wiring made."""
    names: dict[str, set[str]] = {}
    for service, (app, _document) in documents().items():
        meters = app.state.runtime.metrics.provider._meters.values()  # the SDK keeps them here
        names[service] = {sample for meter in meters for instrument in meter._instrument_id_instrument.values()
                          for sample in _prometheus_names(instrument)}
    return names


@pytest.mark.parametrize("service", list(SETTINGS))
def test_metrics_is_an_open_text_route_in_every_services_openapi_document(service: str) -> None:
    operation = documents()[service][1]["paths"]["/metrics"]["get"]
    assert "text/plain" in operation["responses"]["200"]["content"]
    assert not operation.get("security"), "Prometheus scrapes it without a token"


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def test_every_dashboard_query_names_a_metric_the_services_export() -> None:
    everything = set().union(*exported().values())
    panels = [p for p in _dashboard()["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            named = set(METRIC.findall(target["expr"]))
            assert named, f"{panel['title']}: {target['expr']} names no metric"
            assert named <= everything, f"{panel['title']}: {sorted(named - everything)} exported by no service"


def test_the_dashboard_shows_every_figure_of_the_suite_and_each_service_its_own() -> None:
    asked = {m for p in _dashboard()["panels"] for t in p.get("targets", []) for m in METRIC.findall(t["expr"])}
    ours = {n for names in exported().values() for n in names if n.startswith("complaints_")}
    stems = {re.sub(r"_(bucket|count|sum)$", "", n) for n in ours}
    assert all(any(a.startswith(stem) for a in asked) for stem in stems), sorted(
        s for s in stems if not any(a.startswith(s) for a in asked))
    for service, names in exported().items():
        assert {"complaints_consumer_lag", "complaints_outbox_backlog", "complaints_outbox_oldest_pending_age_seconds",
                "complaints_consumer_records_processed_total",
                "http_server_duration_milliseconds_count"} <= names, service
    assert {"complaints_timer_lag_seconds_bucket", "complaints_sla_breaches_total",
            "complaints_sla_warnings_total"} <= exported()["escalation"]
    assert {"complaints_webhook_queue_depth", "complaints_webhook_oldest_pending_age_seconds",
            "complaints_webhook_failures_total"} <= exported()["notify"]
    services = next(v for v in _dashboard()["templating"]["list"] if v["name"] == "service")
    assert set(services["query"].split(",")) == set(SETTINGS)


def test_compose_has_prometheus_scrape_every_service_and_the_collector_and_grafana_load_the_dashboard() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
            for job in config["scrape_configs"]}
    for name in SETTINGS:
        port = compose[name]["environment"][f"{name.upper()}_HTTP_PORT"]
        assert jobs[name] == [f"{name}:{port}"], "the job is named after the service: the dashboard selects on it"
    assert {"otel-collector:8889", "otel-collector:8888"} <= {t for ts in jobs.values() for t in ts}
    mounted = " ".join(compose["prometheus"]["volumes"])
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml" in mounted
    assert "./grafana/complaints-suite.json:" in " ".join(compose["grafana"]["volumes"])
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    metrics = collector["service"]["pipelines"]["metrics"]
    assert metrics["receivers"] == ["otlp"] and all(e in collector["exporters"] for e in metrics["exporters"])


@pytest.mark.parametrize("variant", ["cpu", "keda"])
def test_every_pod_is_annotated_for_scraping_its_own_http_port(variant: str) -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "kubernetes-scrape.yaml").read_text())[0]
    assert any(r.get("target_label") == "job" and r["source_labels"] == [
        "__meta_kubernetes_pod_label_app_kubernetes_io_name"] for r in scrape["relabel_configs"])
    for deployment in _all(variant, "Deployment"):
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        [http] = [p for p in template["spec"]["containers"][0]["ports"] if p["name"] == "http"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(http["containerPort"]),
                               "prometheus.io/path": "/metrics"}, deployment["metadata"]["name"]
        assert template["metadata"]["labels"]["app.kubernetes.io/name"] == deployment["metadata"]["name"]
