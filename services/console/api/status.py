"""The complainant's status page: opened by a signed link, scoped to that one ticket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.console.adapters.apis import ApiError
from services.console.api.security import STATUS, check_csrf, keep_session, read_session
from services.console.api.views import language, render
from services.console.domain.actions import complainant_actions
from services.console.domain.session import Session
from services.console.service import status
from shared.status_link import LinkError

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 20 * 1024 * 1024


@router.get("/s/{token}")
def open_link(request: Request, token: Annotated[str, Path(max_length=2048)]) -> Response:
    """Check the link, start a short session for its ticket, and leave the token out of the address bar."""
    settings = request.app.state.settings
    try:
        session = status.open_link(link_secret=settings.link_secret, auth_secret=settings.auth_secret,
                                   token=token, minutes=settings.status_session_minutes)
    except LinkError:
        return render(request, "error.html", status_code=403, session=None, message_key="link_refused", message=None)
    response = RedirectResponse("/status", status_code=303)
    keep_session(response, request, STATUS, session)
    return response


def _session(request: Request) -> Session | None:
    session = read_session(request, STATUS)
    return session if session is not None and session.ticket else None


def _expired(request: Request) -> Response:
    return render(request, "error.html", status_code=403, session=None, message_key="link_refused", message=None)


@router.get("/status")
def status_page(request: Request) -> Response:
    """Where the complaint stands, what to do next and by when."""
    session = _session(request)
    if session is None:
        return _expired(request)
    try:
        page = status.status_page(request.app.state.apis, session=session)
    except ApiError as exc:
        return _expired(request) if exc.status in (401, 403, 404) else Response(status_code=502)
    return render(request, "status.html", outcome=None, **page)


@router.post("/status/{what}")
async def act(request: Request, what: str) -> Response:
    """Upload evidence, or answer the offer, or withdraw; the page comes back with the outcome."""
    session = _session(request)
    if session is None:
        return _expired(request)
    form = await request.form()
    apis, lang = request.app.state.apis, language(request)
    if not check_csrf(request, str(form.get("csrf", ""))):
        return render(request, "error.html", status_code=403, session=None, message_key="csrf", message=None)
    try:
        if what == "upload":
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ApiError(422, {"message": "file: choose a photo or file to upload",
                                     "message_zh": "文件：请选择要上传的照片或文件"})
            content = await upload.read(MAX_UPLOAD + 1)
            if len(content) > MAX_UPLOAD:
                raise ApiError(413, {"message": "file: at most 20 MB", "message_zh": "文件：不能超过 20 MB"})
            status.upload(apis, session=session, item=str(form.get("item", "other")), filename=upload.filename,
                          content=content, content_type=upload.content_type or "")
        else:
            case = apis.case(token=session.token, ticket=str(session.ticket))
            if what not in {o.action for o in complainant_actions(case=case)}:
                raise ApiError(409, {"message": f"{what} is not possible now", "message_zh": "当前不能执行此操作"})
            reason = str(form.get("reason", "")).strip()
            if what == "withdraw":
                if not reason:
                    raise ApiError(422, {"message": "reason: say why you withdraw",
                                         "message_zh": "理由：请说明撤回原因"})
                apis.withdraw(token=session.token, ticket=str(session.ticket), reason=reason)
            else:
                apis.act(token=session.token, ticket=str(session.ticket), action=what,
                         body={"reason": reason} if reason else {})
        outcome = {"kind": "done", "action": what}
    except ApiError as exc:
        outcome = {"kind": "refused", "action": what,
                   "message": exc.message_zh if lang == "zh-CN" else exc.message_en}
    page = status.status_page(apis, session=session)
    name = "_status_body.html" if request.headers.get("x-console-fetch") == "1" else "status.html"
    return render(request, name, outcome=outcome, **page)
