"""Refusals a complainant can cause, each naming the field and the rule in English and zh-CN."""

from __future__ import annotations


class EvidenceRuleError(ValueError):
    """Base of every user-caused refusal; `field`, `rule`, `message` and `message_zh`."""

    def __init__(self, *, field: str, rule: str, message: str, message_zh: str) -> None:
        super().__init__(f"{field}: {message} [{rule}]")
        self.field = field
        self.rule = rule
        self.message = message
        self.message_zh = message_zh

    def as_dict(self) -> dict[str, str]:
        """The refusal as a plain dict for an HTTP problem body or an event."""
        return {"field": self.field, "rule": self.rule, "message": self.message,
                "message_zh": self.message_zh}


class UnknownKindError(EvidenceRuleError):
    """The evidence kind is not one of the known kinds."""


class FieldsError(EvidenceRuleError):
    """Structured fields broke one or more rules; `problems` lists each one."""

    def __init__(self, *, problems: list[EvidenceRuleError]) -> None:
        first = problems[0]
        super().__init__(field=first.field, rule=first.rule,
                         message="; ".join(f"{p.field}: {p.message}" for p in problems),
                         message_zh="；".join(f"{p.field}：{p.message_zh}" for p in problems))
        self.problems = problems


class FileTypeError(EvidenceRuleError):
    """The content is not one of the allowed file types (decided by magic bytes)."""


class FilenameError(EvidenceRuleError):
    """The file name is empty or nothing but path parts and control characters."""


class FileTooLargeError(EvidenceRuleError):
    """The file passed the per-file size limit."""


class ComplaintBudgetError(EvidenceRuleError):
    """The complaint's evidence would pass its total size budget."""


class EmptyFileError(EvidenceRuleError):
    """The file has no content."""


# zh-CN texts for pydantic's own rule codes; our custom rules carry theirs in `_CUSTOM_ZH`.
_PYDANTIC_ZH = {
    "missing": "必填字段缺失",
    "extra_forbidden": "该证据类型没有这个字段",
    "timezone_aware": "时间必须带时区（按 UTC 记录）",
    "datetime_parsing": "不是有效的时间，请用 ISO 8601 格式",
    "datetime_from_date_parsing": "不是有效的时间，请用 ISO 8601 格式",
    "datetime_type": "不是有效的时间，请用 ISO 8601 格式",
    "int_parsing": "金额必须是以最小货币单位（分）计的整数",
    "int_from_float": "金额必须是以最小货币单位（分）计的整数",
    "int_type": "金额必须是以最小货币单位（分）计的整数",
    "greater_than_equal": "数值过小",
    "string_too_short": "不能为空",
    "string_too_long": "内容过长",
    "enum": "不是允许的取值",
    "string_type": "必须是文本",
}
_CUSTOM_ZH = {
    "card_key_last4_only": "卡密只能填写最后4位，切勿提交完整卡密",
    "card_key_last4_format": "卡密后4位必须是4个字母或数字",
    "currency_code": "币种必须是 ISO 4217 三位代码，例如 CNY",
    "amount_with_currency": "金额和币种必须同时填写",
}


def fields_error_from(*, error: object, prefix: str = "") -> FieldsError:
    """Turn a pydantic ValidationError into a FieldsError naming each field and rule."""
    problems = []
    for item in error.errors():  # type: ignore[attr-defined]
        field = ".".join(str(part) for part in item["loc"]) or "fields"
        rule = item["type"]
        message = item["msg"].removeprefix("Value error, ")
        zh = _CUSTOM_ZH.get(rule) or _PYDANTIC_ZH.get(rule, f"不符合规则：{message}")
        problems.append(EvidenceRuleError(field=prefix + field, rule=rule, message=message,
                                          message_zh=zh))
    return FieldsError(problems=problems)


class ComplaintClosedError(EvidenceRuleError):
    """Evidence cannot be added to a closed or withdrawn complaint."""


class NotAllowedError(EvidenceRuleError):
    """The caller may see the complaint but not do this to it."""
