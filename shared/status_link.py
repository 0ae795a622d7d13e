"""Signed status links: a complainant's way into one ticket's status page, without an account.

The link carries the ticket, the complainant, the platform and an expiry, signed with HMAC-SHA256
under a key derived from the suite's link secret (notify signs it into the filing notice, the
console verifies it). Nothing in it is secret; only the signature makes it valid, and only until
it expires."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_LINK_TTL = timedelta(days=30)
_DOMAIN = b"complaints-status-link-v1"


class LinkError(ValueError):
    """The link is forged, altered, malformed or expired; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"status link refused: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class StatusLink:
    """What a valid link grants: one ticket of one complainant on one platform, until `expires_at`."""

    ticket: str
    complainant_id: str
    platform: str | None
    expires_at: datetime


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(*, secret: str, ticket: str, complainant_id: str, platform: str | None,
              now: datetime | None = None, ttl: timedelta = DEFAULT_LINK_TTL) -> str:
    """The URL-safe token of a status link (the console serves it at /s/<token>)."""
    expires = (now or datetime.now(UTC)) + ttl
    body = _b64(json.dumps({"t": ticket, "c": complainant_id, "p": platform, "e": int(expires.timestamp())},
                           separators=(",", ":"), ensure_ascii=False).encode())
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_link(*, secret: str, token: str, now: datetime | None = None) -> StatusLink:
    """The grant of a link token; LinkError (malformed, forged or expired) otherwise."""
    body, _, mac = token.partition(".")
    try:
        expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
        if not mac or not hmac.compare_digest(expected, _unb64(mac)):
            raise LinkError("forged")
        data = json.loads(_unb64(body))
        link = StatusLink(ticket=str(data["t"]), complainant_id=str(data["c"]), platform=data.get("p"),
                          expires_at=datetime.fromtimestamp(int(data["e"]), UTC))
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError) as exc:
        if isinstance(exc, LinkError):
            raise
        raise LinkError("malformed") from exc
    if (now or datetime.now(UTC)) >= link.expires_at:
        raise LinkError("expired")
    return link
