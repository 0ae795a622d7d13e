"""Sign webhook payloads per the Standard Webhooks spec and deliver them over HTTP."""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

DEFAULT_TIMEOUT = 10.0
_ERROR_BODY_BYTES = 512


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one HTTP delivery attempt, as kept in the delivery log."""

    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def sign_headers(*, msg_id: str, body: bytes, secrets: Sequence[str], timestamp: datetime) -> dict[str, str]:
    """The webhook-id, -timestamp and -signature headers, one v1 signature per active secret."""
    if not secrets:
        raise ValueError("secrets must hold at least one active secret")
    moment = timestamp.astimezone(UTC)
    # Webhook.sign reads the datetime as UTC, so a non-UTC zone must be converted first.
    payload = body.decode("utf-8")
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, payload) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures}


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
    # Never follow redirects: a 3xx could point a signed request at an internal host.
    async with client.stream("POST", url, content=body, headers=headers, follow_redirects=False) as response:
        if response.is_success:
            return response.status_code, None
        snippet = b""
        async for chunk in response.aiter_bytes():
            snippet += chunk
            if len(snippet) >= _ERROR_BODY_BYTES:
                break
        text = snippet[:_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
        return response.status_code, f"HTTP {response.status_code}" + (f": {text}" if text else "")


async def deliver(*, url: str, msg_id: str, body: bytes, secrets: Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                  client: httpx.AsyncClient | None = None, now: datetime | None = None) -> Attempt:
    """POST a signed payload once; never raises for network faults, the Attempt says what happened."""
    started_at = now or datetime.now(UTC)
    headers = sign_headers(msg_id=msg_id, body=body, secrets=secrets, timestamp=started_at)
    headers["content-type"] = "application/json"
    clock = time.perf_counter()
    status, error = None, None
    try:
        # httpx timeouts are per read; the outer deadline also stops an endpoint that drips bytes.
        async with asyncio.timeout(timeout):
            if client is not None:
                status, error = await _post(client, url, body, headers)
            else:
                async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as own:
                    status, error = await _post(own, url, body, headers)
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    latency = round((time.perf_counter() - clock) * 1000)
    return Attempt(started_at=started_at, status_code=status, latency_ms=latency, error=error)
