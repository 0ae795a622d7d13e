"""The OpenAPI document every service serves: one documented shape for field errors (422)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    """One refused field: which, by which rule, and why (English and zh-CN)."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(title="The field, e.g. order.amount or query.until")
    rule: str = Field(title="The rule it broke, e.g. gt, iso4217, not_future")
    message: str | None = Field(None, title="Why, in English")
    message_en: str | None = Field(None, title="Why, in English")
    message_zh: str | None = Field(None, title="Why, in zh-CN")


class FieldErrors(BaseModel):
    """The 422 body: one field error, or a list of them."""

    detail: FieldError | list[FieldError] | None = Field(None, title="The refused field or fields")
    errors: list[FieldError] | None = Field(None, title="The refused fields (some services list them here)")


_DEFAULT_422 = "#/components/schemas/HTTPValidationError"


def install_field_error_schema(app: FastAPI) -> None:
    """Document 422 answers with the field-error shape the services really send."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = FieldErrors.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["FieldErrors"] = body
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422", {})
                content = answer.get("content", {}).get("application/json", {})
                if content.get("schema", {}).get("$ref") == _DEFAULT_422:
                    content["schema"] = {"$ref": "#/components/schemas/FieldErrors"}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """FastAPI's validation errors as field errors, never echoing the input (it may be secret)."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        field = ".".join(loc) or "body"
        rule = str(err.get("type", "invalid"))
        out.append({"field": field, "rule": rule, "message": str(err.get("msg", "invalid value")),
                    "message_zh": f"字段 {field} 不符合规则 {rule}"})
    return out


def field_refusal(*, field: str, rule: str, en: str, zh: str) -> HTTPException:
    """A 422 naming one field and its rule, in the shape the default handler uses."""
    return HTTPException(status_code=422, detail=[
        {"field": field, "rule": rule, "message": en, "message_zh": zh}])


async def _refuse(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    return JSONResponse({"detail": field_errors(exc)}, status_code=422)


def install_field_error_handler(app: FastAPI) -> None:
    """Answer malformed requests with field errors; a service may install its own after this."""
    app.add_exception_handler(RequestValidationError, _refuse)
