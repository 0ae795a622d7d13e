"""Signed session cookies and CSRF tokens (pure: HMAC over the values, no I/O)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Session:
    """Who is signed in: their own API token, what it says of them, until when."""

    token: str
    subject: str
    role: str
    platform: str | None
    expires_at: int  # unix seconds
    ticket: str | None = None  # a status-link session: the one ticket it may see

    def expired(self, *, now: datetime | None = None) -> bool:
        """Whether the session has run out."""
        return (now or datetime.now(UTC)).timestamp() >= self.expires_at


def _mac(secret: str, purpose: str, value: str) -> str:
    raw = hmac.new(secret.encode(), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def seal(*, secret: str, session: Session) -> str:
    """The cookie value of a session: its fields and their signature."""
    body = base64.urlsafe_b64encode(json.dumps(asdict(session), separators=(",", ":")).encode()).decode()
    return f"{body}.{_mac(secret, 'session', body)}"


def unseal(*, secret: str, value: str | None, now: datetime | None = None) -> Session | None:
    """The session of a cookie value, or None when it is absent, altered or expired."""
    if not value:
        return None
    body, _, mac = value.rpartition(".")
    if not body or not hmac.compare_digest(mac, _mac(secret, "session", body)):
        return None
    try:
        session = Session(**json.loads(base64.urlsafe_b64decode(body)))
    except (binascii.Error, ValueError, TypeError):
        return None
    return None if session.expired(now=now) else session


def new_browser_id() -> str:
    """A random id for the browser's CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(*, secret: str, browser_id: str) -> str:
    """The token every form of this browser carries."""
    return _mac(secret, "csrf", browser_id)


def csrf_valid(*, secret: str, browser_id: str | None, token: str | None) -> bool:
    """Whether a submitted form's token belongs to this browser."""
    if not browser_id or not token:
        return False
    return hmac.compare_digest(token, csrf_token(secret=secret, browser_id=browser_id))


def seal_value(*, secret: str, purpose: str, value: dict) -> str:
    """Any small JSON value, signed for one purpose (the sign-in flow's state and PKCE verifier)."""
    body = base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return f"{body}.{_mac(secret, purpose, body)}"


def unseal_value(*, secret: str, purpose: str, sealed: str | None) -> dict | None:
    """The value of seal_value, or None when absent or altered."""
    if not sealed:
        return None
    body, _, mac = sealed.rpartition(".")
    if not body or not hmac.compare_digest(mac, _mac(secret, purpose, body)):
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(body))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge
