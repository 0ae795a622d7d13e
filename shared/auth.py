"""Bearer tokens (HS256 JWTs, or an OIDC issuer's RS256/ES256 ones) with roles, and the scope each role may see."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from shared.contracts.vocabulary import Role

ALGORITHM = "HS256"
DEFAULT_ISSUER = "complaints-intake"
DEFAULT_AUDIENCE = "complaints"
DEFAULT_TTL = timedelta(hours=1)
MIN_SECRET_BYTES = 32  # RFC 7518: an HS256 key must be at least as long as the hash
#: What an OIDC issuer's keys may sign with (asymmetric: the services verify but cannot mint).
JWKS_ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ["sub", "role", "exp", "iat", "iss", "aud"]




class TokenError(Exception):
    """A bearer token was refused; `reason` is expired, invalid_signature, malformed or invalid_claims."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """The verified caller."""

    subject: str
    role: Role
    platform: str | None = None
    merchant_id: str | None = None
    token_id: str | None = None
    ticket: str | None = None  # a status link's token: this one complaint only


def _check_roles(role: Role, platform: Any, merchant_id: Any) -> None:
    if role in (Role.MERCHANT, Role.AGENT, Role.PARTNER) and not platform:
        raise ValueError(f"role {role.value} needs a platform")
    if role is Role.MERCHANT and not merchant_id:
        raise ValueError("role merchant needs a merchant_id")
    for name, value in (("platform", platform), ("merchant_id", merchant_id)):
        if value is not None and not (isinstance(value, str) and value and not value.startswith("$")):
            raise ValueError(f"{name} must be a plain non-empty string")


def _secret_bytes(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"the signing secret must be at least {MIN_SECRET_BYTES} bytes")
    return key


def mint_token(
    *, secret: str | bytes, subject: str, role: Role | str, platform: str | None = None,
    merchant_id: str | None = None, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None,
    issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE, ticket: str | None = None,
) -> str:
    """Sign a token for `subject` in `role`; ValueError when the role lacks its platform or merchant."""
    role = Role(role)
    if not subject or subject.startswith("$"):
        raise ValueError("subject must be a plain non-empty string")
    _check_roles(role, platform, merchant_id)
    issued = (now or datetime.now(UTC)).astimezone(UTC)
    claims: dict[str, Any] = {
        "sub": subject, "role": role.value, "iss": issuer, "aud": audience, "jti": uuid.uuid4().hex,
        "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp()),
    }
    claims.update({k: v for k, v in (("platform", platform), ("merchant_id", merchant_id), ("ticket", ticket)) if v})
    return jwt.encode(claims, _secret_bytes(secret), algorithm=ALGORITHM)


def verify_token(
    *, secret: str | bytes, token: str, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE,
    leeway: timedelta = timedelta(seconds=30),
) -> Principal:
    """Check signature, expiry, issuer and audience and return the caller; TokenError otherwise."""
    try:
        claims = jwt.decode(
            token, _secret_bytes(secret), algorithms=[ALGORITHM], issuer=issuer, audience=audience,
            leeway=leeway, options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as exc:
        raise _refusal(exc) from exc
    return _principal(claims)


def verify_token_jwks(
    *, jwks: jwt.PyJWKClient, token: str, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE,
    leeway: timedelta = timedelta(seconds=30),
) -> Principal:
    """Check a token of an OIDC issuer against its JWKS (RS256 or ES256 only: an HS256 token, which
    any holder of a shared secret could mint, is refused); return the caller, TokenError otherwise."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError as exc:
        raise _refusal(exc) from exc
    if algorithm not in JWKS_ALGORITHMS:
        raise TokenError("invalid_algorithm",
                         f"The token is signed with {algorithm}; only {', '.join(JWKS_ALGORITHMS)} are accepted")
    try:
        key = jwks.get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise TokenError("jwks_unavailable", "The issuer's signing keys could not be fetched") from exc
    except jwt.PyJWKClientError as exc:
        raise TokenError("unknown_key", "The token is signed with a key the issuer does not publish") from exc
    except jwt.InvalidTokenError as exc:
        raise _refusal(exc) from exc
    try:
        claims = jwt.decode(token, key.key, algorithms=list(JWKS_ALGORITHMS), issuer=issuer, audience=audience,
                            leeway=leeway, options={"require": REQUIRED_CLAIMS})
    except jwt.InvalidTokenError as exc:
        raise _refusal(exc) from exc
    return _principal(claims)


def _refusal(exc: jwt.InvalidTokenError) -> TokenError:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return TokenError("expired", "The token has expired")
    if isinstance(exc, jwt.InvalidSignatureError):
        return TokenError("invalid_signature", "The token signature is not valid")
    if isinstance(exc, jwt.DecodeError):
        return TokenError("malformed", "The token is not a well-formed JWT")
    return TokenError("invalid_claims", f"The token claims are not acceptable: {exc}")


def _principal(claims: Mapping[str, Any]) -> Principal:
    try:
        role = Role(claims["role"])
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise ValueError("sub must be a non-empty string")
        _check_roles(role, claims.get("platform"), claims.get("merchant_id"))
    except ValueError as exc:
        raise TokenError("invalid_claims", f"The token claims are not acceptable: {exc}") from exc
    return Principal(subject=claims["sub"], role=role, platform=claims.get("platform"),
                     merchant_id=claims.get("merchant_id"), token_id=claims.get("jti"),
                     ticket=claims.get("ticket") if isinstance(claims.get("ticket"), str) else None)


def scope_filter(*, principal: Principal) -> dict[str, str]:
    """Plain-equality store filter limiting a listing to what `principal` may see."""
    if principal.ticket:  # a token for one complaint (a status link's) sees that one only
        return _role_scope(principal) | {"ticket": principal.ticket}
    return _role_scope(principal)


def _role_scope(principal: Principal) -> dict[str, str]:
    if principal.role is Role.COMPLAINANT:
        scope = {"complainant.id": principal.subject}
        # A complainant id is only unique within its platform.
        return scope | ({"platform": principal.platform} if principal.platform else {})
    if principal.role is Role.MERCHANT:
        return {"platform": str(principal.platform), "merchant.id": str(principal.merchant_id)}
    return {"platform": str(principal.platform)}


def _lookup(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def can_see(*, principal: Principal, complaint: Mapping[str, Any]) -> bool:
    """Tell whether `complaint` is in scope; callers answer 404, not 403, when it is not."""
    return all(_lookup(complaint, key) == value for key, value in scope_filter(principal=principal).items())


def can_file(*, principal: Principal, complainant_id: str, platform: str) -> bool:
    """Tell whether `principal` may file for this complainant on this platform."""
    if principal.role is Role.COMPLAINANT:
        return principal.subject == complainant_id and principal.platform in (None, platform)
    # Agents file on a caller's behalf and partners relay their platform's complaints.
    return principal.role in (Role.AGENT, Role.PARTNER) and principal.platform == platform


def sees_contact(*, principal: Principal, complaint: Mapping[str, Any]) -> bool:
    """Tell whether `principal` may see the complainant's contact unmasked (only the complainant)."""
    return principal.role is Role.COMPLAINANT and can_see(principal=principal, complaint=complaint)


def bearer_token(*, authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; TokenError when absent or not bearer."""
    if not authorization:
        raise TokenError("missing", "An Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("malformed", "The Authorization header must be 'Bearer <token>'")
    return token.strip()
