"""Error answers of intake's routes, as problem details (shared.problems): 422 with field errors,
and the reasons for 403, 404 and 409."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.intake.api import examples
from services.intake.domain.errors import validation_errors
from shared.problems import Problem, problem, problem_answer


class FieldErrors(Exception):
    """Bad input the framework could not check by itself (a header, a cursor, a reused key)."""

    def __init__(self, *, field: str, rule: str, en: str, zh: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.entries = [{"field": field, "rule": rule, "message_en": en, "message_zh": zh}]


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    # Input values are never echoed: they may hold phone numbers or card keys.
    entries = exc.entries if isinstance(exc, FieldErrors) else validation_errors(exc=exc)
    return problem_answer(status=422, instance=request.url.path, detail=entries)


def install(app: FastAPI) -> None:
    """Answer every bad input to intake's routes with 422 problem details listing `errors`."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(FieldErrors, _validation_failed)


def refuse(status_code: int, *, reason: str, en: str, zh: str) -> NoReturn:
    """Answer with a reason (also the problem's rule) and a bilingual message."""
    raise problem(status_code, en=en, zh=zh, rule=reason, reason=reason)


def not_found(ticket: str) -> NoReturn:
    """404: no such complaint, or not in the caller's scope (never 403, so nothing leaks)."""
    refuse(404, reason="not_found", en=f"no complaint {ticket}", zh=f"未找到投诉 {ticket}")


#: Documented on every route: the 401 of a missing, expired or forged token and the 422 shape.
ERROR_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token: reason missing, expired, invalid_signature, malformed or "
                         "invalid_claims"},
    422: {**examples.errors_answer(), "model": Problem},
}
