"""Rendering pages: one Jinja2 environment, every value escaped, words in the reader's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.console.api.security import LANG, form_token
from services.console.domain import i18n, times
from services.console.domain.actions import OUTCOMES, REQUESTABLE, TIERS

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def environment() -> Environment:
    """The console's templates, autoescaped (HTML and SVG alike)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(REQUESTABLE=REQUESTABLE, OUTCOMES=OUTCOMES, TIERS=TIERS)
    return env


def language(request: Request) -> str:
    """The reader's language: their choice, else zh-CN."""
    return i18n.language_of(request.cookies.get(LANG))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or fragment) in the reader's language, with its CSRF token and word helpers."""
    lang = language(request)

    def t(key: str) -> str:
        return i18n.say(i18n.UI, key, lang)

    def word(table: str, code: str | None) -> str:
        return i18n.say(getattr(i18n, table.upper()), code, lang)

    def when(value: Any) -> dict[str, str] | None:
        at = times.parse(value)
        if at is None:
            return None
        return {"iso": at.isoformat(), "beijing": times.beijing(at), "left": times.left(due=at, lang=lang)}

    html = request.app.state.templates.get_template(name).render(
        request=request, lang=lang, t=t, word=word, when=when, csrf=form_token(request),
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code)
