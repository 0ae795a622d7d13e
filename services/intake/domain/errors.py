"""Turn pydantic validation errors into field/rule/message entries in English and zh-CN."""

from collections.abc import Iterable, Mapping
from typing import Any

from .demands import DEMAND_TYPES

_RULES = {
    "greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le",
    "string_too_long": "max_length", "too_long": "max_length",
    "string_too_short": "min_length", "too_short": "min_length",
    "missing": "required", "extra_forbidden": "unknown_field",
    "string_type": "string", "string_sub_type": "string", "string_unicode": "string",
    "int_type": "integer", "int_parsing": "integer", "int_from_float": "integer",
    "bool_type": "boolean", "bool_parsing": "boolean",
    "datetime_type": "datetime", "datetime_parsing": "datetime", "datetime_from_date_parsing": "datetime",
    "datetime_object_invalid": "datetime",
    "enum": "enum", "literal_error": "enum", "union_tag_invalid": "enum", "union_tag_not_found": "required",
    "model_type": "object", "model_attributes_type": "object", "dict_type": "object", "list_type": "array",
    "string_pattern_mismatch": "pattern",
}

_ZH = {
    "gt": "必须大于 {gt}", "ge": "必须大于或等于 {ge}", "lt": "必须小于 {lt}", "le": "不能大于 {le}",
    "max_length": "长度不能超过 {max_length}", "min_length": "长度不能少于 {min_length}",
    "required": "缺少必填字段", "unknown_field": "不允许的字段",
    "string": "必须是字符串", "integer": "必须是整数（金额用最小货币单位，如分）", "boolean": "必须是布尔值",
    "datetime": "必须是 ISO 8601 日期时间", "timezone_aware": "必须带时区，例如 2026-11-20T21:15:00+08:00",
    "enum": "取值无效，可选：{expected}", "object": "必须是 JSON 对象", "array": "必须是 JSON 数组",
    "pattern": "格式不正确",
}

# FastAPI prefixes the part of the request that failed; the client only needs the field.
_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


def _field(loc: tuple[Any, ...], error_type: str, ctx: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for index, part in enumerate(loc):
        if index == 0 and part in _REQUEST_PARTS:
            continue
        if part in DEMAND_TYPES and index and loc[index - 1] == "demand":
            continue  # the union tag pydantic inserts after "demand" is not a field (its parts, e.g. refund, are)
        parts.append(f"[{part}]" if isinstance(part, int) else str(part))
    if error_type in ("union_tag_invalid", "union_tag_not_found"):
        parts.append(str(ctx.get("discriminator", "type")).strip("'"))
    if isinstance(ctx.get("at"), str):
        parts.extend(ctx["at"].split("."))
    return ".".join(parts).replace(".[", "[") or "body"


def _zh(rule: str, ctx: Mapping[str, Any]) -> str:
    if isinstance(ctx.get("message_zh"), str):
        return ctx["message_zh"]
    template = _ZH.get(rule, f"字段无效（{rule}）")
    values = {"expected": ctx.get("expected_tags", ""), **ctx}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("，：: ")


def validation_errors(*, exc: Any) -> list[dict[str, str]]:
    """List `{field, rule, message_en, message_zh}` for a ValidationError (or anything with `.errors()`)."""
    raw: Iterable[Mapping[str, Any]] = exc.errors() if hasattr(exc, "errors") else exc
    entries = []
    for error in raw:
        error_type, ctx = str(error.get("type", "")), error.get("ctx") or {}
        rule = _RULES.get(error_type, error_type)
        entries.append({
            "field": _field(tuple(error.get("loc", ())), error_type, ctx),
            "rule": rule,
            "message_en": str(error.get("msg", rule)),
            "message_zh": _zh(rule, ctx),
        })
    # Input values are left out on purpose: they may hold phone numbers or card keys.
    return entries
