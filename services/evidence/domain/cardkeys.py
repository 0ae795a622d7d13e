"""Card keys: what an issuer may say of one, keys encrypted at rest, masking (adapters/ asks the issuer)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


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
