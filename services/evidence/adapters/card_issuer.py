"""The card-key issuer over HTTP: is a key valid, used or unknown (retried, the key never logged)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from services.evidence.domain.cardkeys import CardKeyStatus, mask_key

log = logging.getLogger(__name__)


class HttpCardKeyIssuer:
    """Asks an issuer over HTTP: POST {base_url}/v1/card-keys/check with the key in the body."""

    def __init__(self, *, base_url: str, timeout_s: float = 5.0, retries: int = 2,
                 backoff_s: float = 0.5, client: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        # The key travels in the body, never the URL, because URLs end up in access logs.
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout_s)
        self._owns_client = client is None
        self._retries = retries
        self._backoff_s = backoff_s
        self._sleep = sleep

    async def check(self, *, issuer_ref: str, card_key: str) -> CardKeyStatus:
        """Return valid / used / unknown, or error after the retries are spent."""
        masked = mask_key(key=card_key)
        for attempt in range(self._retries + 1):
            if attempt:
                await self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                response = await self._client.post(
                    "/v1/card-keys/check", json={"issuer_ref": issuer_ref, "card_key": card_key})
            except httpx.HTTPError as exc:
                log.warning("card-key check %s %s failed: %s", issuer_ref, masked,
                            type(exc).__name__)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                log.warning("card-key check %s %s got HTTP %s", issuer_ref, masked,
                            response.status_code)
                continue
            return _status_of(response, issuer_ref=issuer_ref, masked=masked)
        return CardKeyStatus.ERROR

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter made it."""
        if self._owns_client:
            await self._client.aclose()


def _status_of(response: httpx.Response, *, issuer_ref: str, masked: str) -> CardKeyStatus:
    if response.status_code == 404:
        return CardKeyStatus.UNKNOWN
    try:
        status = CardKeyStatus(response.json()["status"])
    except (ValueError, KeyError, TypeError):
        log.warning("card-key check %s %s: unreadable answer, HTTP %s", issuer_ref, masked,
                    response.status_code)
        return CardKeyStatus.ERROR
    return status if response.is_success else CardKeyStatus.ERROR
