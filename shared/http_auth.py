"""The FastAPI side of authentication: every service reads the caller from its bearer token.

The token is read through an HTTP bearer security scheme (`bearerAuth`, a JWT), so every route
that needs one declares it in the OpenAPI document and /docs "Authorize" sends it."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import Principal, TokenError, bearer_token, verify_token, verify_token_jwks
from shared.problems import problem

#: Reads nothing itself (auto_error off): the reasons of a refusal are ours (missing, malformed ...).
bearer_auth = HTTPBearer(scheme_name="bearerAuth", bearerFormat="JWT", auto_error=False,
                         description="A signed token of the caller (HS256 JWT): role, subject, platform, "
                                     "merchant. 令牌：调用方身份。")


@lru_cache(maxsize=8)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per JWKS URL: its keys are cached (5 min) and re-fetched when a token names a new key id."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)


async def current_principal(request: Request,
                            _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_auth)]
                            ) -> Principal:
    """The verified caller; 401 problem details with the reason when the token is missing, expired or forged.

    Async: an HS256 check is a few microseconds on the event loop, where a sync dependency costs a
    hand-over to the thread pool and back on every request. A JWKS check may fetch the keys, so it
    runs in a thread."""
    settings = request.app.state.runtime.settings
    try:
        token = bearer_token(authorization=request.headers.get("authorization"))
        if settings.auth_jwks_url:
            return await asyncio.to_thread(verify_token_jwks, jwks=jwks_client(settings.auth_jwks_url), token=token,
                                           issuer=settings.auth_issuer, audience=settings.auth_audience)
        return verify_token(secret=settings.auth_secret, token=token, issuer=settings.auth_issuer,
                            audience=settings.auth_audience)
    except TokenError as exc:
        raise problem(
            401, en=str(exc), zh="身份验证失败：请提供有效的访问令牌", rule="invalid_token",
            reason=exc.reason,
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.reason}"'},
        ) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
