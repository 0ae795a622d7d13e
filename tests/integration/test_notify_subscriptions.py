"""Subscription rules with private targets not allowed (the deploy default): URLs, roles, scope, secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from tests.support.notify_harness import notify_settings, running_notify, token
from tests.support.servers import Servers
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration
PUBLIC_URL = "https://93.184.215.14/hooks/complaints"  # a global address literal: no DNS needed


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, webhook_allow_private_targets=False)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def partner(settings: NotifySettings, platform: str = "kamen-1") -> dict[str, str]:
    return token(settings, subject=f"{platform}-integration", role="partner", platform=platform)


@pytest.mark.parametrize(("url", "rule"), [
    ("ftp://hooks.example.com/in", "http or https"),
    ("https://user:pass@93.184.215.14/hook", "credentials"),
    ("http://127.0.0.1:8080/hook", "non-public"),
    ("http://localhost/hook", "non-public"),
    ("http://10.1.2.3/hook", "non-public"),
    ("http://192.168.1.20/hook", "non-public"),
    ("http://169.254.169.254/latest/meta-data", "non-public"),
    ("http://[::1]/hook", "non-public"),
    ("http://[fe80::1]/hook", "non-public"),
])
def test_a_url_breaking_a_rule_is_refused_with_the_rule(app: TestClient, settings: NotifySettings,
                                                         url: str, rule: str) -> None:
    response = app.post("/v1/subscriptions", json={"url": url}, headers=partner(settings))
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "url" and rule in error["message_en"] and error["message_zh"]
    assert app.get("/v1/subscriptions", headers=partner(settings)).json()["items"] == []


def test_a_public_url_is_accepted_the_secret_shown_once_and_scoped_to_the_platform(
        app: TestClient, settings: NotifySettings) -> None:
    created = app.post("/v1/subscriptions", json={"url": PUBLIC_URL, "event_types": ["ComplaintStatusChanged"]},
                       headers=partner(settings, "p-scope"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["ComplaintStatusChanged"]

    listed = app.get("/v1/subscriptions", headers=partner(settings, "p-scope")).json()["items"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]
    assert app.get(f"/v1/subscriptions/{body['id']}", headers=partner(settings, "p-other")).status_code == 404
    assert app.delete(f"/v1/subscriptions/{body['id']}", headers=partner(settings, "p-other")).status_code == 404
    assert app.delete(f"/v1/subscriptions/{body['id']}", headers=partner(settings, "p-scope")).status_code == 204
    assert app.get(f"/v1/subscriptions/{body['id']}", headers=partner(settings, "p-scope")).status_code == 404


def test_only_partners_subscribe_and_only_known_event_types(app: TestClient, settings: NotifySettings) -> None:
    merchant = token(settings, subject="m-1", role="merchant", merchant_id="m-1")
    assert app.post("/v1/subscriptions", json={"url": PUBLIC_URL}, headers=merchant).status_code == 403
    assert app.post("/v1/subscriptions", json={"url": PUBLIC_URL}).status_code == 401
    unknown = app.post("/v1/subscriptions", json={"url": PUBLIC_URL, "event_types": ["CardKeyChecked"]},
                       headers=partner(settings))
    assert unknown.status_code == 422 and "event_types" in unknown.text
