"""Deliver signed webhook payloads over HTTP (httpx), once per call, to the address that was checked."""

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.notify.domain.webhook_targets import Address, pinned_url
from services.notify.domain.webhooks import Attempt, sign_headers

DEFAULT_TIMEOUT = 10.0
_ERROR_BODY_BYTES = 512
#: Most of a success answer's body read: one read whole lets its connection serve the next POST.
_KEEP_ALIVE_BODY_BYTES = 64 * 1024


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
                extensions: dict[str, Any]) -> tuple[int, str | None]:
    # Never follow redirects: a 3xx could point a signed request at an internal host.
    async with client.stream("POST", url, content=body, headers=headers, follow_redirects=False,
                             extensions=extensions) as response:
        if response.is_success:
            # An answer left unread closes its connection, so every POST would open a new one (a TCP
            # handshake and a new connection object each, both sides). Read to its end, up to a bound:
            # an endpoint that answers more than that gets its connection closed instead.
            read = 0
            async for chunk in response.aiter_bytes():
                read += len(chunk)
                if read > _KEEP_ALIVE_BODY_BYTES:
                    break
            return response.status_code, None
        snippet = b""
        async for chunk in response.aiter_bytes():
            snippet += chunk
            if len(snippet) >= _ERROR_BODY_BYTES:
                break
        text = snippet[:_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
        return response.status_code, f"HTTP {response.status_code}" + (f": {text}" if text else "")


async def deliver(*, url: str, msg_id: str, body: bytes, secrets: Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                  client: httpx.AsyncClient | None = None, now: datetime | None = None,
                  address: Address | None = None) -> Attempt:
    """POST a signed payload once; never raises for network faults, the Attempt says what happened.

    With `address` (the one checked, see adapters.webhook_targets.resolve_target) the connection goes
    to that address: the URL carries it, the Host header and TLS SNI carry the name, and the
    certificate is verified for the name."""
    started_at = now or datetime.now(UTC)
    headers = sign_headers(msg_id=msg_id, body=body, secrets=secrets, timestamp=started_at)
    headers["content-type"] = "application/json"
    extensions: dict[str, Any] = {}
    if address is not None:
        extensions["sni_hostname"] = urlsplit(url.strip()).hostname or ""
        url, headers["host"] = pinned_url(url=url, address=address)
    clock = time.perf_counter()
    status, error = None, None
    try:
        # httpx timeouts are per read; the outer deadline also stops an endpoint that drips bytes.
        async with asyncio.timeout(timeout):
            if client is not None:
                status, error = await _post(client, url, body, headers, extensions)
            else:
                async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as own:
                    status, error = await _post(own, url, body, headers, extensions)
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    latency = round((time.perf_counter() - clock) * 1000)
    return Attempt(started_at=started_at, status_code=status, latency_ms=latency, error=error)
