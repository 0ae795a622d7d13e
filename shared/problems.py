"""One error shape for every service: RFC 9457 problem details (`application/problem+json`).

Every refusal answers with `type`, `title`, `status`, `detail` (English), `instance` (the request
path), `detail_zh` (zh-CN) and, where fields are at fault, `errors`: a list of
`{field, rule, message_en, message_zh}`. A refusal's own facts (its `rule`, the token's `reason`,
the states an action is allowed in ...) are further extension members at the top level.

Routes raise `problem(...)` (an HTTPException); older helpers that raise an HTTPException with a
dict or a list of field errors as `detail` get the same shape from `problem_response`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
#: Problem types are URNs of the suite: stable identifiers a partner may branch on (not fetched).
TYPE_PREFIX = "urn:complaints-suite:problem:"
#: The type of a request some of whose fields were refused (several rules at once).
INVALID_REQUEST = f"{TYPE_PREFIX}invalid_request"
#: zh-CN text of an answer the framework gives without one (a body it cannot parse, an unknown path).
_ZH_BY_STATUS = {400: "请求格式错误，无法解析", 401: "身份验证失败", 403: "无权执行此操作", 404: "未找到所请求的资源",
                 405: "不支持该请求方法", 406: "无法提供所请求的格式", 409: "与当前状态冲突",
                 413: "请求内容过大", 415: "不支持的内容类型", 422: "请求内容不符合要求",
                 429: "请求过于频繁，请稍后重试",
                 500: "服务内部错误", 503: "服务暂时不可用，请稍后重试"}
_RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


class FieldProblem(BaseModel):
    """One refused field: which, by which rule, and why (English and zh-CN)."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(title="The field or parameter, e.g. order.amount, since, Idempotency-Key")
    rule: str = Field(title="The rule it broke, e.g. gt, iso4217, unknown_parameter")
    message_en: str = Field(title="Why, in English")
    message_zh: str = Field(title="Why, in zh-CN")


class Problem(BaseModel):
    """RFC 9457 problem details, with zh-CN text and field errors as extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", title="A URI identifying the kind of problem",
                      examples=[f"{TYPE_PREFIX}not_found"])
    title: str = Field(title="Short summary of the kind of problem (the HTTP status phrase)")
    status: int = Field(title="The HTTP status code")
    detail: str = Field(title="What went wrong in this occurrence, in English")
    instance: str = Field(title="The request path this problem occurred at")
    detail_zh: str | None = Field(None, title="What went wrong, in zh-CN")
    rule: str | None = Field(None, title="The rule refused, when one names it")
    errors: list[FieldProblem] | None = Field(None, title="The refused fields, each with its rule")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def field_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A field error in the one shape: field, rule, message_en, message_zh (other facts kept)."""
    en = entry.get("message_en") or entry.get("message") or f"{entry.get('field')}: {entry.get('rule')}"
    zh = entry.get("message_zh") or f"字段 {entry.get('field')} 不符合规则 {entry.get('rule')}"
    out = {"field": str(entry.get("field", "body")), "rule": str(entry.get("rule", "invalid")),
           "message_en": str(en), "message_zh": str(zh)}
    out.update({k: v for k, v in entry.items() if k not in out and k != "message"})
    return out


def problem(status: int, *, en: str, zh: str, rule: str | None = None,
            errors: Sequence[Mapping[str, Any]] | None = None, headers: Mapping[str, str] | None = None,
            **extensions: Any) -> HTTPException:
    """A refusal to raise: status, English and zh-CN detail, its rule, field errors, more facts."""
    detail: dict[str, Any] = {"message_en": en, "message_zh": zh, **extensions}
    if rule is not None:
        detail["rule"] = rule
    if errors is not None:
        detail["errors"] = [field_entry(e) for e in errors]
    return HTTPException(status_code=status, detail=detail, headers=dict(headers) if headers else None)


def field_problem(*, field: str, rule: str, en: str, zh: str, status: int = 422) -> HTTPException:
    """A refusal naming one field and its rule (422 unless told)."""
    return problem(status, en=en, zh=zh, rule=rule,
                   errors=[{"field": field, "rule": rule, "message_en": en, "message_zh": zh}])


def problem_body(*, status: int, instance: str, detail: Any) -> dict[str, Any]:
    """The problem document for an HTTP error whose detail is a dict, a list of field errors or text."""
    title = _phrase(status)
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if isinstance(detail, Mapping):
        facts = dict(detail)
        en = facts.pop("message_en", None) or facts.pop("message", None)
        facts.pop("message", None)
        zh = facts.pop("message_zh", None)
        errors = facts.pop("errors", None)
        if errors is None and "field" in facts and "rule" in facts:
            errors = [{"field": facts["field"], "rule": facts["rule"], "message_en": en, "message_zh": zh}]
        body["detail"] = str(en or title)
        body["instance"] = instance
        if zh:
            body["detail_zh"] = str(zh)
        if errors is not None:
            body["errors"] = [field_entry(e) for e in errors]
        body.update({k: v for k, v in facts.items() if k not in _RESERVED})
    elif isinstance(detail, Sequence) and not isinstance(detail, str):
        entries = [field_entry(e) for e in detail if isinstance(e, Mapping)]
        body.update(_about_fields(entries))
        body["instance"] = instance
    else:
        body["detail"] = str(detail) if detail else title
        body["instance"] = instance
    body.setdefault("detail_zh", _ZH_BY_STATUS.get(status, "请求未能完成"))
    rule = body.get("rule")
    if isinstance(rule, str) and rule:
        body["type"] = f"{TYPE_PREFIX}{rule}"
    elif body.get("errors"):
        body["type"] = INVALID_REQUEST
    return body


def _about_fields(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The detail of a list of field errors: the one message, or which fields."""
    if len(entries) == 1:
        (one,) = entries
        return {"detail": one["message_en"], "detail_zh": one["message_zh"], "rule": one["rule"],
                "errors": entries}
    fields = ", ".join(e["field"] for e in entries)
    return {"detail": f"{len(entries)} fields refused: {fields}",
            "detail_zh": f"{len(entries)} 个字段不符合要求：{fields}", "errors": entries}


def fields_problem(entries: Sequence[Mapping[str, Any]], *, instance: str, status: int = 422) -> dict[str, Any]:
    """The problem document of refused fields (request validation)."""
    return problem_body(status=status, instance=instance, detail=[field_entry(e) for e in entries])


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_answer(*, status: int, instance: str, detail: Any,
                   headers: Mapping[str, str] | None = None) -> ProblemResponse:
    """The response carrying a problem document."""
    return ProblemResponse(problem_body(status=status, instance=instance, detail=detail),
                           status_code=status, headers=dict(headers) if headers else None)


def problem_bytes(*, status: int, instance: str, detail: Any) -> bytes:
    """A problem document as bytes, for ASGI middleware that answers before the app."""
    return json.dumps(problem_body(status=status, instance=instance, detail=detail),
                      ensure_ascii=False, default=str).encode()


def not_ready(report: Mapping[str, Any], *, retry_after_s: int) -> ProblemResponse:
    """/readyz when a connection is down: 503 problem details carrying the readiness report."""
    down = ", ".join(name for name, ok in report.get("checks", {}).items() if not ok) or "startup"
    body = problem_body(status=503, instance="/readyz", detail={
        "rule": "not_ready", "message_en": f"not ready: {down} not answering",
        "message_zh": f"服务尚未就绪：{down} 无响应", **report})
    return ProblemResponse(body, status_code=503, headers={"Retry-After": str(retry_after_s)})
