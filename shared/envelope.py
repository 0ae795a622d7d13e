"""The event envelope: frozen pydantic events, their registry, wire encoding and CloudEvents form."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

_REGISTRY: dict[str, type[Event]] = {}


def utcnow() -> datetime:
    """The current time, UTC, with tzinfo."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random identifier (32 hex characters)."""
    return uuid.uuid4().hex


class Message(BaseModel):
    """Base of every message on a topic: frozen, strict about unknown fields."""

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


def decode(raw: bytes, *, max_bytes: int | None = None) -> Message:
    """Parse and validate one message; raise PoisonMessage with the reason when it cannot be."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise PoisonMessage(f"payload too large: {len(raw)} bytes > {max_bytes}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PoisonMessage("invalid envelope: the body is not a JSON object")
    name = data.get("type")
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise PoisonMessage(f"unknown message type: {name!r}")
    version = data.get("schema_version", 1)
    if version not in cls.supported_versions:
        raise PoisonMessage(f"unsupported schema_version {version!r} for {name}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
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
