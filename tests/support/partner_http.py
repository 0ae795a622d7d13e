"""The four services as processes, for the partner-facing HTTP checks (documents, problem details)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from shared.auth import mint_token
from shared.settings import ServiceSettings
from tests.support.suite import create_topics, running_suite

SERVICES = ("intake", "evidence", "escalation", "notify")
PROBLEM_JSON = "application/problem+json"


@contextmanager
def running_services(*, env: dict[str, str], log_dir: Path) -> Iterator[dict[str, httpx.Client]]:
    """Every service as a process on the real servers; one HTTP client per service, by name."""
    create_topics(env=env)
    with running_suite(env=env, log_dir=log_dir, names=SERVICES) as services, ExitStack() as clients:
        yield {name: clients.enter_context(httpx.Client(base_url=s.url, timeout=30))
               for name, s in services.items()}


def bearer(subject: str, role: str, *, platform: str | None = "kameng-example",
           merchant_id: str | None = None) -> dict[str, str]:
    """Authorization header signed with the services' default secret."""
    secret = ServiceSettings.model_fields["auth_secret"].default
    value = mint_token(secret=secret, subject=subject, role=role, platform=platform, merchant_id=merchant_id)
    return {"Authorization": f"Bearer {value}"}


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The answer is RFC 9457 problem details of that status, for this request, in English and Chinese."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].split(";")[0] == PROBLEM_JSON, answer.headers
    body = answer.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["detail_zh"]
    assert body["instance"] == answer.request.url.path
    for error in body.get("errors", []):
        assert set(error) >= {"field", "rule", "message_en", "message_zh"}, error
    return body
