"""The agent console's routes: sign-in, queues, the case page and its actions, files, analytics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from services.console.adapters.apis import ApiError
from services.console.api.security import AGENT, LANG, check_csrf, keep_session, read_session, set_cookie
from services.console.api.views import language, render
from services.console.domain import queues
from services.console.domain.actions import action_body, agent_actions
from services.console.domain.session import Session
from services.console.service import pages
from shared.auth import Principal, TokenError, verify_token, verify_token_jwks
from shared.http_auth import jwks_client

router = APIRouter(include_in_schema=False)
Ticket = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{2,47}$")]
STAFF = ("agent", "partner", "merchant")
ACTING = ("agent", "partner")  # merchants read their cases here; they answer in their own back office


def _session(request: Request) -> Session | None:
    return read_session(request, AGENT)


def _to_signin() -> RedirectResponse:
    return RedirectResponse("/signin", status_code=303)


@router.get("/")
def home(request: Request) -> Response:
    """The queues when signed in, else the sign-in page."""
    return RedirectResponse("/queues" if _session(request) else "/signin", status_code=303)


@router.get("/signin")
def signin_page(request: Request) -> Response:
    """Paste a token to sign in (local runs)."""
    return render(request, "signin.html", error=None)


@router.post("/signin")
def signin(request: Request, token: Annotated[str, Form(max_length=4096)] = "",
           csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Check the pasted token and keep it in the session cookie."""
    settings = request.app.state.settings
    if not check_csrf(request, csrf):
        return render(request, "signin.html", status_code=403, error="csrf")
    try:
        if settings.auth_jwks_url:
            who = verify_token_jwks(jwks=jwks_client(settings.auth_jwks_url), token=token.strip(),
                                    issuer=settings.auth_issuer, audience=settings.auth_audience)
        else:
            who = verify_token(secret=settings.auth_secret, token=token.strip(), issuer=settings.auth_issuer,
                               audience=settings.auth_audience)
    except TokenError as exc:
        return render(request, "signin.html", status_code=401, error=exc.reason)
    return signed_in(request, token=token.strip(), who=who)


def signed_in(request: Request, *, token: str, who: Principal, until: datetime | None = None) -> Response:
    """Keep a verified staff token in the session cookie and go to the queues (others are refused)."""
    if who.role.value not in STAFF:
        return render(request, "signin.html", status_code=403, error="not_staff")
    expires = datetime.now(UTC) + timedelta(hours=request.app.state.settings.session_hours)
    expires = min(expires, until) if until is not None else expires
    response = RedirectResponse("/queues?q=unassigned", status_code=303)
    keep_session(response, request, AGENT, Session(
        token=token, subject=who.subject, role=who.role.value, platform=who.platform,
        expires_at=int(expires.timestamp())))
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Forget the session."""
    response = _to_signin()
    if check_csrf(request, csrf):
        response.delete_cookie(AGENT, path="/")
    return response


@router.get("/lang/{choice}")
def switch_language(request: Request, choice: str, next: str = "/") -> Response:
    """Switch between zh-CN and English, back to the page the reader was on."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, LANG, "en" if choice == "en" else "zh-CN",
               secure=request.app.state.settings.secure_cookies, max_age=365 * 86400)
    return response


@router.get("/queues")
def queue_page(request: Request, q: str = "unassigned", cursor: str | None = None,
               hours: Annotated[float | None, Query(gt=0, le=720)] = None) -> Response:
    """Every queue with its count, and the chosen queue's cases nearest due first ("breaching soon":
    due within `hours`, the setting's default unless given)."""
    session = _session(request)
    if session is None:
        return _to_signin()
    name = q if queues.known(q) else "unassigned"
    hours = hours or request.app.state.settings.breaching_hours
    try:
        page = pages.queue_page(request.app.state.apis, token=session.token, name=name,
                                breaching_hours=hours, cursor=cursor)
    except ApiError as exc:
        return _refused(request, exc, session)
    return render(request, "queues.html", session=session, hours=hours, **page)


def _supervisor(request: Request, session: Session) -> bool:
    chosen = request.app.state.settings.supervisors
    return session.role in ("agent", "partner") and (not chosen or session.subject in chosen)


@router.get("/cases/{ticket}")
def case_page(request: Request, ticket: Ticket) -> Response:
    """Everything about one case, and the actions allowed now."""
    session = _session(request)
    if session is None:
        return _to_signin()
    try:
        page = pages.case_page(request.app.state.apis, token=session.token, ticket=ticket, me=session.subject,
                               supervisor=_supervisor(request, session), acts=session.role in ACTING)
    except ApiError as exc:
        return _refused(request, exc, session)
    return render(request, "case.html", session=session, outcome=None, **page)


@router.post("/cases/{ticket}/actions/{action}")
async def take_action(request: Request, ticket: Ticket, action: str) -> Response:
    """Take an allowed action; a script gets the refreshed case body, a plain form a redirect."""
    session = _session(request)
    if session is None:
        return _to_signin()
    form = await request.form()
    if not check_csrf(request, str(form.get("csrf", ""))):
        return render(request, "error.html", status_code=403, session=session, message_key="csrf", message=None)
    apis = request.app.state.apis
    outcome: dict[str, str] = {}
    try:
        case = apis.case(token=session.token, ticket=ticket)
        allowed = agent_actions(case=case, me=session.subject) if session.role in ACTING else []
        if action not in {o.action for o in allowed}:
            raise ApiError(409, {"message": f"{action} is not allowed now",
                                 "message_zh": "当前状态不允许此操作"})
        body = action_body(action=action, form=form, items=[str(v) for v in form.getlist("items")],
                           me=session.subject)
        apis.act(token=session.token, ticket=ticket, action=action, body=body)
        outcome = {"kind": "done", "action": action}
    except ApiError as exc:
        if exc.status in (401, 404):
            return _refused(request, exc, session)
        outcome = {"kind": "refused", "action": action, "message": exc.message_zh if language(request) == "zh-CN"
                   else exc.message_en}
    page = pages.case_page(apis, token=session.token, ticket=ticket, me=session.subject,
                           supervisor=_supervisor(request, session), acts=session.role in ACTING)
    if request.headers.get("x-console-fetch") == "1":
        return render(request, "_case_body.html", session=session, outcome=outcome, **page)
    return render(request, "case.html", session=session, outcome=outcome, **page)


def _stream(request: Request, url: str, token: str, fallback_name: str) -> Response:
    try:
        chunks, headers = request.app.state.apis.stream(url, token=token)
    except ApiError as exc:
        return Response(status_code=exc.status)
    headers.setdefault("content-disposition", f'attachment; filename="{fallback_name}"')
    return StreamingResponse(chunks, headers=headers)


@router.get("/cases/{ticket}/dossier")
def dossier(request: Request, ticket: Ticket) -> Response:
    """The case's evidence dossier (ZIP), fetched with the agent's own token."""
    session = _session(request)
    if session is None:
        return _to_signin()
    apis = request.app.state.apis
    return _stream(request, f"{apis.evidence_url}/v1/complaints/{ticket}/dossier", session.token, f"{ticket}.zip")


@router.get("/cases/{ticket}/evidence/{evidence_id}")
def evidence_file(request: Request, ticket: Ticket,
                  evidence_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]) -> Response:
    """One evidence file (previews and downloads)."""
    session = _session(request)
    if session is None:
        return _to_signin()
    apis = request.app.state.apis
    return _stream(request, f"{apis.evidence_url}/v1/complaints/{ticket}/evidence/{evidence_id}/content",
                   session.token, evidence_id)


@router.get("/analytics")
def analytics_page(request: Request) -> Response:
    """Hot merchants, SLA attainment per clock and time to resolution, as charts."""
    session = _session(request)
    if session is None:
        return _to_signin()
    try:
        charts = pages.analytics_page(request.app.state.apis, token=session.token, lang=language(request))
    except ApiError as exc:
        return _refused(request, exc, session)
    return render(request, "analytics.html", session=session, **charts)


def _refused(request: Request, exc: ApiError, session: Session | None) -> Response:
    if exc.status == 401:
        response = _to_signin()
        response.delete_cookie(AGENT, path="/")
        return response
    message = exc.message_zh if language(request) == "zh-CN" else exc.message_en
    return render(request, "error.html", status_code=exc.status if exc.status < 500 else 502, session=session,
                  message_key=None, message=message)
