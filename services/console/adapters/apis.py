"""HTTP clients of intake, evidence, escalation and notify, always called with the person's own token."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx


class ApiError(Exception):
    """An API refused or failed; carries its status and problem details (messages in both languages)."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status, self.body = status, dict(body)
        super().__init__(f"{status}: {self.message_en}")

    @property
    def message_en(self) -> str:
        """The refusal in English, as the API gave it."""
        detail = self.body.get("detail")
        return str(self.body.get("message") or self.body.get("message_en")
                   or (detail if isinstance(detail, str) else "") or self.body.get("title") or "request refused")

    @property
    def message_zh(self) -> str:
        """The refusal in zh-CN, as the API gave it."""
        return str(self.body.get("message_zh") or self.body.get("detail_zh") or self.message_en)


@dataclass(frozen=True)
class Apis:
    """The four base URLs and one pooled client."""

    intake_url: str
    evidence_url: str
    escalation_url: str
    notify_url: str
    client: httpx.Client

    def call(self, method: str, url: str, *, token: str, **kwargs: Any) -> Any:
        """One call with the person's token; the JSON answer, or ApiError."""
        answer = self.client.request(method, url, headers={"authorization": f"Bearer {token}"}, **kwargs)
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = {"title": answer.text[:200]}
            raise ApiError(answer.status_code, body if isinstance(body, dict) else {"title": str(body)})
        return answer.json() if answer.content else {}

    def stream(self, url: str, *, token: str) -> tuple[Iterator[bytes], dict[str, str]]:
        """A file the API serves, passed through in chunks with its content headers."""
        request = self.client.build_request("GET", url, headers={"authorization": f"Bearer {token}"})
        answer = self.client.send(request, stream=True)
        if answer.status_code >= 400:
            answer.read()
            answer.close()
            raise ApiError(answer.status_code, {"title": "not available"})
        headers = {k: v for k, v in answer.headers.items()
                   if k.lower() in ("content-type", "content-disposition", "content-length")}

        def chunks() -> Iterator[bytes]:
            try:
                yield from answer.iter_bytes()
            finally:
                answer.close()
        return chunks(), headers

    # -- escalation
    def queue(self, *, token: str, **params: Any) -> dict[str, Any]:
        """A page of the work queue with its total."""
        return self.call("GET", f"{self.escalation_url}/v1/cases", token=token, params=params)

    def case(self, *, token: str, ticket: str) -> dict[str, Any]:
        """The case with its clocks, duties and allowed next states."""
        return self.call("GET", f"{self.escalation_url}/v1/cases/{ticket}", token=token)

    def act(self, *, token: str, ticket: str, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Take an action; the case after it."""
        return self.call("POST", f"{self.escalation_url}/v1/cases/{ticket}/actions/{action}", token=token,
                         json=dict(body))

    def analytics(self, *, token: str, what: str, **params: Any) -> dict[str, Any]:
        """One of escalation's analytics answers."""
        return self.call("GET", f"{self.escalation_url}/v1/analytics/{what}", token=token, params=params)

    # -- intake
    def complaint(self, *, token: str, ticket: str) -> dict[str, Any]:
        """The complaint with its timeline, masked as intake masks it for this caller."""
        return self.call("GET", f"{self.intake_url}/v1/complaints/{ticket}", token=token)

    def trace(self, *, token: str, ticket: str) -> dict[str, Any]:
        """The complaint's spans."""
        return self.call("GET", f"{self.intake_url}/v1/complaints/{ticket}/trace", token=token)

    def withdraw(self, *, token: str, ticket: str, reason: str) -> dict[str, Any]:
        """The complainant withdraws the complaint."""
        return self.call("POST", f"{self.intake_url}/v1/complaints/{ticket}/withdraw", token=token,
                         json={"reason": reason})

    # -- evidence
    def evidence(self, *, token: str, ticket: str) -> dict[str, Any]:
        """The numbered evidence items."""
        return self.call("GET", f"{self.evidence_url}/v1/complaints/{ticket}/evidence", token=token)

    def assessment(self, *, token: str, ticket: str) -> dict[str, Any]:
        """What the evidence chain still lacks."""
        return self.call("GET", f"{self.evidence_url}/v1/complaints/{ticket}/evidence/assessment", token=token)

    def verification(self, *, token: str, ticket: str) -> dict[str, Any]:
        """Each item intact or tampered."""
        return self.call("GET", f"{self.evidence_url}/v1/complaints/{ticket}/evidence/verify", token=token)

    def upload(self, *, token: str, ticket: str, kind: str, fields_json: str, filename: str,
               content: bytes, content_type: str) -> dict[str, Any]:
        """Submit one piece of evidence."""
        return self.call("POST", f"{self.evidence_url}/v1/complaints/{ticket}/evidence", token=token,
                         files={"file": (filename, content, content_type)},
                         data={"kind": kind, "fields": fields_json})

    def ready(self) -> dict[str, bool]:
        """Whether each API answers its readiness check."""
        out = {}
        for name in ("intake", "evidence", "escalation", "notify"):
            try:
                base = getattr(self, f"{name}_url")
                out[name] = self.client.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                out[name] = False
        return out
