"""Card-key re-validation with the issuer, encryption of keys at rest, and masking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

import httpx
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)


class CardKeyStatus(StrEnum):
    """What the issuer says about a key; `error` means it could not be asked."""

    VALID = "valid"
    USED = "used"
    UNKNOWN = "unknown"
    ERROR = "error"


@runtime_checkable
class CardKeyIssuer(Protocol):
    """Anything that can ask an issuer about a card key."""

    async def check(self, *, issuer_ref: str, card_key: str) -> CardKeyStatus:
        """Return the key's status; never raises for issuer trouble, returns ERROR instead."""
        ...


def mask_key(*, key: str) -> str:
    """Show only the last 4 characters, e.g. '****WXYZ'; shorter keys are hidden whole."""
    compact = key.replace(" ", "").replace("-", "")
    return "****" + compact[-4:] if len(compact) > 4 else "****"


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


class CardKeyVault:
    """Encrypts full card keys at rest; the first key encrypts, every key decrypts (rotation)."""

    def __init__(self, *, fernet_keys: Sequence[str | bytes]) -> None:
        if not fernet_keys:
            raise ValueError("fernet_keys: at least one key is needed (Fernet.generate_key())")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in fernet_keys])
        except ValueError as exc:
            raise ValueError("fernet_keys: each must be 32 url-safe base64-encoded bytes, "
                             "as made by Fernet.generate_key()") from exc

    def encrypt(self, *, card_key: str) -> str:
        """Return a token safe to store."""
        return self._fernet.encrypt(card_key.encode("utf-8")).decode("ascii")

    def decrypt(self, *, token: str) -> str:
        """Return the key; raise ValueError if no configured key opens the token."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("token: no configured key decrypts it (wrong key or altered "
                             "token)") from None
