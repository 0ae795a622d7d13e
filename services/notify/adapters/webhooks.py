"""Deliver signed webhook payloads over HTTP (aiohttp), once per call, to the address that was checked."""

import asyncio
import functools
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import certifi

from services.notify.domain.webhook_targets import Address, pinned_url
from services.notify.domain.webhooks import Attempt, sign_headers

DEFAULT_TIMEOUT = 10.0
_ERROR_BODY_BYTES = 512
#: Most of a success answer's body read: one read whole lets its connection serve the next POST.
_KEEP_ALIVE_BODY_BYTES = 64 * 1024


@functools.cache
def verified_context() -> ssl.SSLContext:
    """The TLS context endpoints are verified with: the certifi bundle, as the httpx sender had it.

    Loads the bundle from disk (blocking): build it before the loop runs or accept one short stall."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context


def new_session(*, limit: int, timeout: float = DEFAULT_TIMEOUT,
                ssl_context: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    """A session for webhook POSTs: at most `limit` connections, no proxy from the environment, no cookies.

    Call inside the running loop (aiohttp binds a session to it). No cookie jar: a cookie one partner
    sets must not travel with the next partner's request to the same address."""
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, ssl=ssl_context or verified_context())
    return aiohttp.ClientSession(connector=connector, timeout=_timeout(timeout), trust_env=False,
                                 cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False)


@functools.lru_cache(maxsize=8)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    # Per connect and per read, as httpx had it; the outer deadline in deliver bounds the whole POST.
    return aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str],
                server_hostname: str | None, timeout: float) -> tuple[int, str | None]:
    # Never follow redirects: a 3xx could point a signed request at an internal host.
    async with session.post(url, data=body, headers=headers, allow_redirects=False, timeout=_timeout(timeout),
                            server_hostname=server_hostname) as response:
        if 200 <= response.status < 300:
            # An answer left unread closes its connection, so every POST would open a new one (a TCP
            # handshake and a new connection object each, both sides). Read to its end, up to a bound:
            # an endpoint that answers more than that gets its connection closed instead (aiohttp
            # releases a connection to the pool only when its answer was read whole).
            read = 0
            while chunk := await response.content.readany():
                read += len(chunk)
                if read > _KEEP_ALIVE_BODY_BYTES:
                    break
            return response.status, None
        snippet = b""
        while len(snippet) < _ERROR_BODY_BYTES and (chunk := await response.content.readany()):
            snippet += chunk
        text = snippet[:_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
        return response.status, f"HTTP {response.status}" + (f": {text}" if text else "")


async def deliver(*, url: str, msg_id: str, body: bytes, secrets: Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                  client: aiohttp.ClientSession | None = None, now: datetime | None = None,
                  address: Address | None = None) -> Attempt:
    """POST a signed payload once; never raises for network faults, the Attempt says what happened.

    With `address` (the one checked, see adapters.webhook_targets.resolve_target) the connection goes
    to that address: the URL carries it, the Host header and TLS SNI carry the name, and the
    certificate is verified for the name. Without `client`, a session of its own for this one POST."""
    started_at = now or datetime.now(UTC)
    headers = sign_headers(msg_id=msg_id, body=body, secrets=secrets, timestamp=started_at)
    headers["content-type"] = "application/json"
    server_hostname = None
    if address is not None:
        parts = urlsplit(url.strip())
        # aiohttp keys its pooled connections by server_hostname as well as by address, so two names
        # served from one IP never share a TLS connection (each is verified for its own certificate).
        server_hostname = (parts.hostname or None) if parts.scheme == "https" else None
        url, headers["host"] = pinned_url(url=url, address=address)
    clock = time.perf_counter()
    status, error = None, None
    try:
        # The session's timeouts are per connect and per read; this deadline also stops an endpoint
        # that drips bytes.
        async with asyncio.timeout(timeout):
            if client is not None:
                status, error = await _post(client, url, body, headers, server_hostname, timeout)
            else:
                async with new_session(limit=1, timeout=timeout) as own:
                    status, error = await _post(own, url, body, headers, server_hostname, timeout)
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except aiohttp.ClientError as exc:  # a URL aiohttp cannot parse is one too (InvalidUrlClientError)
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    latency = round((time.perf_counter() - clock) * 1000)
    return Attempt(started_at=started_at, status_code=status, latency_ms=latency, error=error)
