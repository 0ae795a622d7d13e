"""The OIDC issuer: its discovery document and the code-for-token exchange (authorization code + PKCE)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx


class OidcError(Exception):
    """The issuer refused or could not be reached; the message says which step."""


def discover(client: httpx.Client, *, issuer: str) -> dict[str, Any]:
    """The issuer's endpoints (/.well-known/openid-configuration)."""
    try:
        answer = client.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=10)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"discovery failed: {type(exc).__name__}") from exc
    if "authorization_endpoint" not in found or "token_endpoint" not in found:
        raise OidcError("discovery document lacks the authorization or token endpoint")
    return found


def authorization_url(*, endpoint: str, client_id: str, redirect_url: str, scopes: str, state: str,
                      challenge: str) -> str:
    """Where the browser goes to sign in."""
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_url,
                       "scope": scopes, "state": state, "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def exchange(client: httpx.Client, *, endpoint: str, code: str, verifier: str, client_id: str,
             client_secret: str | None, redirect_url: str) -> str:
    """The access token for an authorization code."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_url,
            "client_id": client_id, "code_verifier": verifier}
    try:
        if client_secret:  # a confidential client authenticates; a public one has PKCE only
            answer = client.post(endpoint, data=form, auth=(client_id, client_secret), timeout=10)
        else:
            answer = client.post(endpoint, data=form, timeout=10)
        answer.raise_for_status()
        token = answer.json().get("access_token")
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"code exchange failed: {type(exc).__name__}") from exc
    if not isinstance(token, str) or not token:
        raise OidcError("the issuer answered without an access token")
    return token
