"""The event envelope: frozen pydantic events, their registry, wire encoding and CloudEvents form."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

_REGISTRY: dict[str, type[Message]] = {}


def utcnow() -> datetime:
    """The current time, UTC, with tzinfo."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random identifier (32 hex characters)."""
    return uuid.uuid4().hex


class Message(BaseModel):
    """Base of every message on a topic: frozen; strict about unknown fields when built (a producer
    cannot send a field its contract lacks), tolerant when read (`decode` ignores them: see there)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(title="Message type name, e.g. ComplaintFiled")
    event_id: str = Field(default_factory=new_id, title="Unique id of this message")
    occurred_at: AwareDatetime = Field(default_factory=utcnow, title="When it happened (UTC)")
    schema_version: int = Field(1, title="Version of this message's schema", ge=1)

    supported_versions: ClassVar[frozenset[int]] = frozenset({1})

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        default = cls.model_fields["type"].default
        if isinstance(default, str):
            _REGISTRY[default] = cls

    def key(self) -> str:
        """The partition key: messages with one key keep their order."""
        return self.event_id

    def encode(self) -> bytes:
        """The JSON bytes that travel on the topic."""
        return self.model_dump_json().encode()


class Event(Message):
    """A fact about one complaint, past tense; keyed by complaint so its events stay in order."""

    complaint_id: str = Field(title="Internal id of the complaint", min_length=1, max_length=64)
    ticket: str = Field(title="Ticket number (受理编号), e.g. CP-20261123-000123", max_length=40)

    def key(self) -> str:
        """The partition key: the complaint id."""
        return self.complaint_id


class PoisonMessage(ValueError):
    """A message no consumer can ever process: bad JSON, wrong schema, unknown type or version."""


def message_types() -> dict[str, type[Message]]:
    """Every registered message type by name (import shared.contracts to fill it)."""
    return dict(_REGISTRY)


def _first_bytes(raw: bytes, count: int = 8) -> str:
    """The payload's first bytes in hex, for a reason that shows what arrived (never the whole of it)."""
    shown = " ".join(f"0x{b:02x}" for b in raw[:count])
    return shown + (" …" if len(raw) > count else "")


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def decode(raw: bytes, *, max_bytes: int | None = None, known: Iterable[str] | None = None) -> Message:
    """Parse and validate one message; raise PoisonMessage with a reason a person can act on.

    Each reason starts with its kind (payload too large, invalid JSON, invalid envelope, unknown
    message type, unsupported schema_version, schema violation) and says what to send instead.
    `known` names the types the caller takes (for the unknown-type reason); every registered type
    otherwise.

    A tolerant reader: within a supported major version (`schema_version`) fields this consumer's
    contract does not know are ignored (`extra="ignore"` for this validation only, nested parts
    included), so a producer may add an optional field before its consumers are upgraded. Wrong
    types, missing required fields, an unknown type or major version are still poison. Building a
    message in code keeps refusing unknown fields (`extra="forbid"` on the models)."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise PoisonMessage(f"payload too large: {len(raw)} bytes, over the limit of {max_bytes} bytes "
                            f"(MAX_EVENT_BYTES); send a smaller message")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PoisonMessage(
            f"invalid JSON: not UTF-8 JSON: the payload's bytes are not UTF-8 text (first bytes "
            f"{_first_bytes(raw)}; byte {exc.start} is not UTF-8); send one JSON object encoded as "
            f"UTF-8, content-type application/json") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PoisonMessage(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (first bytes "
            f"{_first_bytes(raw)}); send one complete JSON object, content-type application/json") from exc
    if not isinstance(data, dict):
        raise PoisonMessage(f"invalid envelope: the body is {_json_kind(data)}, not a JSON object; send one "
                            f"JSON object with a \"type\" field")
    names = sorted(known) if known is not None else sorted(_REGISTRY)
    name = data.get("type")
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        what = "no \"type\" field" if name is None else f"{name!r}"
        raise PoisonMessage(f"unknown message type: {what}; the types read here are {', '.join(names)}")
    version = data.get("schema_version", 1)
    if version not in cls.supported_versions:
        supported = ", ".join(str(v) for v in sorted(cls.supported_versions))
        raise PoisonMessage(f"unsupported schema_version {version!r} for {name}: this consumer reads "
                            f"schema_version {supported}")
    try:
        return cls.model_validate(data, extra="ignore")
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']} (rule {err['type']})"
            for err in exc.errors()
        )
        raise PoisonMessage(f"schema violation in {name}: {problems}") from exc


def to_cloudevent_dict(message: Message, *, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """CloudEvents 1.0 attributes for a message (the partner-facing form builds on these)."""
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": message.event_id,
        "type": f"complaints.{message.type}.v{message.schema_version}",
        "source": source,
        "time": message.occurred_at.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }
    if isinstance(message, Event):
        attributes["subject"] = message.ticket
    return attributes
