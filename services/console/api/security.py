"""Safe by default: strict CSP and other headers on every answer, the browser's CSRF cookie, sessions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.middleware.base import BaseHTTPMiddleware

from services.console.domain.session import Session, csrf_token, csrf_valid, new_browser_id, seal, unseal

#: No inline script or style, nothing from another origin, no framing, forms post only here.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Permissions-Policy": "camera=(self), geolocation=(), microphone=()"}
BROWSER, AGENT, STATUS, LANG = "console_bid", "console_session", "console_status", "console_lang"


class SecurityHeaders(BaseHTTPMiddleware):
    """Adds the headers and gives every browser its CSRF id cookie on its first visit."""

    def __init__(self, app: object, *, secure: bool) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.secure = secure

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        browser = request.cookies.get(BROWSER)
        fresh = not browser or len(browser) > 64
        request.state.browser_id = new_browser_id() if fresh else browser
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/cases", "/status", "/queues", "/s/", "/signin", "/analytics")):
            response.headers["Cache-Control"] = "no-store"
        if fresh:
            set_cookie(response, BROWSER, request.state.browser_id, secure=self.secure, max_age=None)
        return response


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int | None) -> None:
    """A cookie scripts cannot read, sent only to this site's own navigations and forms."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/")


def form_token(request: Request) -> str:
    """The CSRF token the page's forms carry."""
    return csrf_token(secret=request.app.state.settings.cookie_secret, browser_id=request.state.browser_id)


def check_csrf(request: Request, token: str | None) -> bool:
    """Whether a submitted form came from one of our pages in this browser."""
    return csrf_valid(secret=request.app.state.settings.cookie_secret,
                      browser_id=request.cookies.get(BROWSER), token=token)


def read_session(request: Request, cookie: str) -> Session | None:
    """The signed-in person of this request (agent console or status page), if any."""
    return unseal(secret=request.app.state.settings.cookie_secret, value=request.cookies.get(cookie))


def keep_session(response: Response, request: Request, cookie: str, session: Session) -> None:
    """Store the session in its cookie until it expires."""
    settings = request.app.state.settings
    set_cookie(response, cookie, seal(secret=settings.cookie_secret, session=session),
               secure=settings.secure_cookies, max_age=None)
