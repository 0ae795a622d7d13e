"""The OpenAPI documents a partner codes against: valid, with bearer security on every route that
needs a token, notify's webhooks, and /docs and /redoc that work offline (every asset served here)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from openapi_spec_validator import validate

from tests.support.partner_http import SERVICES, bearer, running_services

pytestmark = pytest.mark.integration

#: Routes anyone may call: probes, the documents themselves, the public schemas.
OPEN_ROUTES = re.compile(r"^/(healthz|readyz|metrics|asyncapi\.json|schemas(/.*)?)$")
WEBHOOK_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}


@pytest.fixture(scope="module")
def clients(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, httpx.Client]]:
    with running_services(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.mark.parametrize("service", SERVICES)
def test_each_document_is_valid_openapi_with_bearer_security_on_every_token_route(
        clients: dict[str, httpx.Client], service: str) -> None:
    client = clients[service]
    document = client.get("/openapi.json").json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"],
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    token_routes = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if OPEN_ROUTES.match(path):
                assert not operation.get("security"), (method, path)
                continue
            token_routes += 1
            assert operation.get("security") == [{"bearerAuth": []}], (method, path)
            # and it really refuses a call without a token, as the document says
            assert "401" in operation["responses"], (method, path)
            assert "application/problem+json" in operation["responses"]["401"]["content"], (method, path)
    assert token_routes > 0


def test_a_documented_token_route_refuses_without_the_token_and_answers_with_it(
        clients: dict[str, httpx.Client]) -> None:
    inbox = clients["notify"]
    assert inbox.get("/v1/inbox").status_code == 401
    assert inbox.get("/v1/inbox", headers=bearer("u-1", "complainant")).status_code == 200


def test_notify_documents_every_webhook_with_its_cloud_event_body_and_signature_headers(
        clients: dict[str, httpx.Client]) -> None:
    document = clients["notify"].get("/openapi.json").json()
    webhooks = document["webhooks"]
    assert webhooks
    schemas = document["components"]["schemas"]
    for name, item in webhooks.items():
        post = item["post"]
        assert {p["name"] for p in post["parameters"] if p["in"] == "header" and p["required"]} == WEBHOOK_HEADERS
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        assert set(body["required"]) >= {"specversion", "id", "source", "type", "time", "subject", "data"}
        kind = body["properties"]["type"]
        assert name == kind.get("const") or name in kind.get("enum", []), name
        if name.startswith("org.complaints-suite."):  # a public type: its data schema is served
            assert clients["notify"].get(f"/schemas/{name}.json").status_code == 200, name


def _asset_urls(html: str, base: str) -> list[str]:
    found = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""url\s*:\s*["']([^"']+)["']""", html)
    return [urljoin(base, u) for u in found]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_and_redoc_load_only_assets_this_service_serves(
        clients: dict[str, httpx.Client], service: str, page: str) -> None:
    client = clients[service]
    answer = client.get(page)
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    html = answer.text
    base = str(client.base_url).rstrip("/") + page
    urls = _asset_urls(html, base)
    scripts_and_styles = [u for u in urls if re.search(r"\.(js|css)(\?|$)", u)]
    assert scripts_and_styles, html[:500]
    own = urlsplit(str(client.base_url)).netloc
    for url in urls:
        assert urlsplit(url).netloc == own, f"{page} of {service} loads {url} from another host"
        fetched = client.get(urlsplit(url).path)
        assert fetched.status_code == 200, url
        assert fetched.content, url
    assert "cdn." not in html and "googleapis" not in html and "unpkg" not in html
