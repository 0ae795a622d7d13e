"""Reusable field types and the strict base model for intake request bodies."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .currency import ISO4217

# A phone clock a few minutes fast must not make a fresh payment "in the future".
CLOCK_SKEW = timedelta(minutes=5)
MAX_MINOR_UNITS = 10**12


class RequestModel(BaseModel):
    """Base for bodies: unknown fields and `$`-keys are refused, so no store operator slips in."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_operator_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if not isinstance(key, str) or key.startswith("$") or "\x00" in key:
                    raise PydanticCustomError(
                        "forbidden_key",
                        "Field names may not start with '$': {key}",
                        {"key": str(key), "at": str(key), "message_zh": "字段名不能以 $ 开头"},
                    )
        return data


def _now(info: ValidationInfo) -> datetime:
    # Tests and replays pass the reference time in the validation context.
    context = info.context if isinstance(info.context, Mapping) else {}
    now = context.get("now")
    return now if isinstance(now, datetime) and now.tzinfo else datetime.now(UTC)


def _utc_not_future(value: datetime, info: ValidationInfo) -> datetime:
    value = value.astimezone(UTC)
    if value > _now(info) + CLOCK_SKEW:
        raise PydanticCustomError(
            "not_future",
            "Time may not be in the future",
            {"message_zh": "时间不能晚于当前时间"},
        )
    return value


def _currency(value: str) -> str:
    code = value.upper()
    if code not in ISO4217:
        raise PydanticCustomError(
            "iso4217",
            "'{code}' is not an ISO 4217 currency code (e.g. CNY, USD)",
            {"code": value, "message_zh": f"“{value}”不是 ISO 4217 货币代码（如 CNY、USD）"},
        )
    return code


def _single_line(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise PydanticCustomError(
            "single_line",
            "Line breaks and control characters are not allowed here",
            {"message_zh": "此处不允许换行或控制字符"},
        )
    return value


def _text_without_controls(value: str) -> str:
    if any((ord(ch) < 32 and ch not in "\n\t\r") or ord(ch) == 127 for ch in value):
        raise PydanticCustomError(
            "control_chars",
            "Control characters are not allowed in text",
            {"message_zh": "文本中不允许控制字符"},
        )
    return value


# Length limits are set per field with Field(max_length=...); these carry the shared rules.
Identifier = Annotated[
    str, Field(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
]
ShortText = Annotated[str, Field(strict=True, min_length=1), AfterValidator(_single_line)]
Text = Annotated[str, Field(strict=True, min_length=1), AfterValidator(_text_without_controls)]
MinorUnits = Annotated[int, Field(strict=True, gt=0, le=MAX_MINOR_UNITS)]
Count = Annotated[int, Field(strict=True, ge=1, le=10_000)]
CurrencyCode = Annotated[str, Field(strict=True, min_length=3, max_length=3), AfterValidator(_currency)]
PastUtc = Annotated[AwareDatetime, AfterValidator(_utc_not_future)]
