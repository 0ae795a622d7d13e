"""The HTTP face every service shares: problem details for every refusal, unknown query parameters
refused the same way, and an OpenAPI document that says so (bearer security, the problem shape,
webhooks where a service sends them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.problems import (
    PROBLEM_JSON,
    FieldProblem,
    Problem,
    field_problem,
    problem,
    problem_answer,
)

log = logging.getLogger(__name__)

#: The security scheme of every route that needs a token (see shared.http_auth).
BEARER_SCHEME = "bearerAuth"


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """FastAPI's validation errors as field errors, never echoing the input (it may be secret)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "body"
        rule = str(err.get("type", "invalid"))
        out.append({"field": field, "rule": rule, "message_en": str(err.get("msg", "invalid value")),
                    "message_zh": f"字段 {field} 不符合规则 {rule}"})
    return out


def field_refusal(*, field: str, rule: str, en: str, zh: str) -> HTTPException:
    """A 422 naming one field and its rule, as problem details (see shared.problems)."""
    return field_problem(field=field, rule=rule, en=en, zh=zh)


async def _refuse(request: Request, exc: Exception) -> Any:
    if not isinstance(exc, RequestValidationError):
        raise exc
    return problem_answer(status=422, instance=request.url.path, detail=field_errors(exc))


async def _http_error(request: Request, exc: Exception) -> Any:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem_answer(status=exc.status_code, instance=request.url.path, detail=exc.detail,
                          headers=exc.headers)


def install_error_handlers(app: FastAPI, *, store_errors: Iterable[type[Exception]] = (),
                           retry_after_s: int = 5) -> None:
    """Answer malformed requests, every HTTPException and a lost store (503 with Retry-After) with
    problem details; a service may install its own validation handler after this (answering
    problem details too, see services/intake/api/errors.py)."""
    app.add_exception_handler(RequestValidationError, _refuse)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    async def store_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("store unavailable: %s", exc)
        return problem_answer(status=503, instance=request.url.path, headers={"Retry-After": str(retry_after_s)},
                              detail={"rule": "store_unavailable",
                                      "message_en": "the document store is unavailable; retry later",
                                      "message_zh": "数据存储暂时不可用，请稍后重试"})

    for error in store_errors:
        app.add_exception_handler(error, store_unavailable)


#: The name services installed before (kept for callers outside shared.app).
install_field_error_handler = install_error_handlers


# --- unknown query parameters ---------------------------------------------------------------

def _query_names(dependant: Dependant) -> set[str]:
    fields = []
    pending, seen = [dependant], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        fields.extend(current.query_params)
        pending.extend(current.dependencies)
    try:  # a pydantic model as Query() stands for its fields
        from fastapi.dependencies.utils import _get_flat_fields_from_params
        fields = _get_flat_fields_from_params(fields)
    except ImportError:  # pragma: no cover - older FastAPI
        pass
    return {f.alias for f in fields}


_ALLOWED: dict[int, set[str]] = {}


async def refuse_unknown_query(request: Request) -> None:
    """App-wide dependency: a query parameter the route does not declare gets 422 problem details
    naming it (rule `unknown_parameter`), on every documented route of every service alike. Async:
    it only reads the request, and a sync dependency costs a hand-over to the thread pool and back."""
    route = request.scope.get("route")
    if not request.query_params or not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    allowed = _ALLOWED.get(id(route))
    if allowed is None:
        allowed = _ALLOWED[id(route)] = _query_names(route.dependant)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in allowed]
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise problem(422,
                      en=f"unknown query parameter {', '.join(repr(n) for n in unknown)}; this route takes: {known}",
                      zh=f"不支持的查询参数“{'、'.join(unknown)}”；可用参数：{known}", rule="unknown_parameter",
                      errors=[{"field": name, "rule": "unknown_parameter",
                               "message_en": f"unknown query parameter {name!r}; this route takes: {known}",
                               "message_zh": f"不支持的查询参数“{name}”；可用参数：{known}"} for name in unknown])


#: Pass as `dependencies=` of the app (see shared.app.create_service_app).
QUERY_GUARD = Depends(refuse_unknown_query)


# --- the document ---------------------------------------------------------------------------

_DEFAULT_422 = "#/components/schemas/HTTPValidationError"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_STATUS_TEXT = {"400": "Bad request", "401": "No valid bearer token (reason: missing, expired, "
                "invalid_signature, malformed or invalid_claims)", "403": "Not permitted",
                "404": "Not found in your scope", "409": "Conflict with the resource's state",
                "413": "Too large", "415": "Unsupported media type",
                "422": "Refused fields or query parameters (errors: field, rule, message_en, message_zh)",
                "503": "Store unavailable; retry after Retry-After seconds"}


def _problem_content(answer: dict[str, Any]) -> None:
    """Make an error answer's content application/problem+json with the Problem schema, keeping examples."""
    content = answer.setdefault("content", {})
    json_media = content.pop("application/json", None) or {}
    media = content.setdefault(PROBLEM_JSON, {})
    examples = json_media.get("examples") or json_media.get("example")
    media["schema"] = _PROBLEM_REF
    if "examples" in json_media:
        media["examples"] = examples
    elif "example" in json_media:
        media["example"] = examples


def install_field_error_schema(app: FastAPI, *, webhooks: dict[str, Any] | None = None,
                               components: dict[str, Any] | None = None) -> None:
    """The OpenAPI document: every error answer in problem details, 401 and 422 documented on
    every route that needs a token, the bearer scheme, and the webhooks a service sends."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (FieldProblem, Problem):
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(body.pop("$defs", {}))
            schemas[model.__name__] = body
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.setdefault("responses", {})
                if operation.get("security"):
                    answers.setdefault("401", {"description": _STATUS_TEXT["401"]})
                if operation.get("parameters") or operation.get("requestBody"):
                    answers.setdefault("422", {"description": _STATUS_TEXT["422"]})
                for code, answer in answers.items():
                    if str(code)[:1] in ("4", "5"):
                        _problem_content(answer)
                    if str(code) == "422" and answer.get("description") == "Validation Error":
                        answer["description"] = _STATUS_TEXT["422"]
        if components:
            schemas.update(components)
        if webhooks:
            schema["webhooks"] = webhooks
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
