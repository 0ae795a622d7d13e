"""The FastAPI side of authentication: every service reads the caller from its bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from shared.auth import Principal, TokenError, bearer_token, verify_token


def current_principal(request: Request) -> Principal:
    """The verified caller; 401 with the reason when the token is missing, expired or forged."""
    settings = request.app.state.runtime.settings
    try:
        token = bearer_token(authorization=request.headers.get("authorization"))
        return verify_token(secret=settings.auth_secret, token=token)
    except TokenError as exc:
        raise HTTPException(
            status_code=401,
            detail={"reason": exc.reason, "message": str(exc),
                    "message_zh": "身份验证失败：请提供有效的访问令牌"},
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.reason}"'},
        ) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
