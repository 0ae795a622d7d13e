"""Agents' sign-in with an OIDC issuer: the authorization code flow with PKCE, when configured."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.adapters import oidc
from services.console.api.pages import signed_in
from services.console.api.security import set_cookie
from services.console.api.views import render
from services.console.domain.session import pkce_pair, seal_value, unseal_value
from shared.auth import TokenError, verify_token_jwks
from shared.http_auth import jwks_client

router = APIRouter(include_in_schema=False)
FLOW = "console_oidc"


@router.get("/signin/oidc")
def start(request: Request) -> Response:
    """Send the browser to the issuer, with a state and a PKCE challenge kept in a signed cookie."""
    settings = request.app.state.settings
    if not settings.oidc:
        return RedirectResponse("/signin", status_code=303)
    try:
        found = oidc.discover(request.app.state.apis.client, issuer=str(settings.oidc_issuer))
    except oidc.OidcError as exc:
        return render(request, "signin.html", status_code=502, error=str(exc))
    state = secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    response = RedirectResponse(oidc.authorization_url(
        endpoint=found["authorization_endpoint"], client_id=str(settings.oidc_client_id),
        redirect_url=str(settings.oidc_redirect_url), scopes=settings.oidc_scopes, state=state,
        challenge=challenge), status_code=303)
    set_cookie(response, FLOW, seal_value(secret=settings.cookie_secret, purpose="oidc",
                                          value={"state": state, "verifier": verifier}),
               secure=settings.secure_cookies, max_age=600)
    return response


@router.get("/signin/callback")
def callback(request: Request, code: str = "", state: str = "") -> Response:
    """Check the state, trade the code for an access token, verify it against the issuer's keys."""
    settings = request.app.state.settings
    flow = unseal_value(secret=settings.cookie_secret, purpose="oidc", sealed=request.cookies.get(FLOW))
    if not settings.oidc or flow is None or not code or not secrets.compare_digest(state, str(flow.get("state"))):
        return render(request, "signin.html", status_code=403, error="invalid_state")
    try:
        found = oidc.discover(request.app.state.apis.client, issuer=str(settings.oidc_issuer))
        token = oidc.exchange(request.app.state.apis.client, endpoint=found["token_endpoint"], code=code,
                              verifier=str(flow["verifier"]), client_id=str(settings.oidc_client_id),
                              client_secret=settings.oidc_client_secret.get_secret_value()
                              if settings.oidc_client_secret else None,
                              redirect_url=str(settings.oidc_redirect_url))
        who = verify_token_jwks(jwks=jwks_client(settings.auth_jwks_url or found["jwks_uri"]), token=token,
                                issuer=settings.auth_issuer, audience=settings.auth_audience)
    except (oidc.OidcError, KeyError) as exc:
        return render(request, "signin.html", status_code=502, error=str(exc))
    except TokenError as exc:
        return render(request, "signin.html", status_code=401, error=exc.reason)
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")  # verified just above
    response = signed_in(request, token=token, who=who,
                         until=datetime.fromtimestamp(int(expires), UTC) if expires else None)
    response.delete_cookie(FLOW, path="/")
    return response
