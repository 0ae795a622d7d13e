"""The AsyncAPI document of a service's topics: every channel with its payload schema and Kafka key.

FastStream writes the document from the broker's subscribers and publishers, but a subscriber
that takes raw bytes (ours do: decoding and dead-lettering are the consumer's) shows no payload,
and FastStream writes no message bindings. Each service declares here what a channel carries and
what its record key is (`document_channel`; `document_publisher` and `Consumer.register` do it);
`asyncapi_document` then fills in each declared channel's messages: the payload's JSON Schema,
its content type and `bindings.kafka.key` (AsyncAPI Kafka bindings 0.4.0).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from typing import Annotated, Any, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, TypeAdapter

from shared.envelope import Event

#: AsyncAPI Kafka bindings version of the key bindings (FastStream writes 0.4.0 channel bindings).
BINDING_VERSION = "0.4.0"
_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class ChannelDoc:
    """What one topic carries: its messages' models, what the record key is, the content type."""

    messages: tuple[type[BaseModel], ...]
    key: str
    content_type: str


_CHANNELS: weakref.WeakKeyDictionary[KafkaBroker, dict[str, ChannelDoc]] = weakref.WeakKeyDictionary()


def key_of(messages: list[type[BaseModel]]) -> str:
    """What the record key of these messages is: a contract's own `key_doc`, or the complaint id
    for complaint events."""
    said = {str(getattr(cls, "key_doc", "")) for cls in messages} - {""}
    if len(said) == 1:
        return said.pop()
    if all(issubclass(cls, Event) for cls in messages):
        return "The complaint id (complaint_id): one complaint's records keep their order"
    return "The id of what the message is about (" + ", ".join(cls.__name__ for cls in messages) + ")"


def document_channel(broker: KafkaBroker, *, topic: str, messages: list[type[BaseModel]], key: str | None = None,
                     content_type: str = "application/json") -> None:
    """Declare what a topic carries for the AsyncAPI document (payload models, key, content type)."""
    channels = _CHANNELS.setdefault(broker, {})
    before = channels.get(topic)
    carried = tuple(dict.fromkeys([*(before.messages if before else ()), *messages]))
    channels[topic] = ChannelDoc(messages=carried, key=key or (before.key if before else key_of(messages)),
                                 content_type=content_type)


def _payload(messages: tuple[type[BaseModel], ...], schemas: dict[str, Any]) -> dict[str, Any]:
    """The messages' JSON Schema, its definitions moved to components/schemas."""
    model: Any = messages[0] if len(messages) == 1 else Union[messages]  # noqa: UP007
    if len(messages) > 1 and all("type" in cls.model_fields for cls in messages):
        model = Annotated[model, Field(discriminator="type")]  # oneOf, told apart by `type`
    schema = TypeAdapter(model).json_schema(ref_template=_REF, mode="serialization")
    schemas.update(schema.pop("$defs", {}))
    if isinstance(schema.get("discriminator"), dict):  # AsyncAPI's discriminator is the property name
        schema["discriminator"] = schema["discriminator"]["propertyName"]
    if len(messages) == 1:
        name = str(schema.get("title") or messages[0].__name__)  # a model's own title names it, as FastStream did
        schemas[name] = schema
        return {"$ref": _REF.format(model=name)}
    return schema


def asyncapi_document(broker: KafkaBroker, *, title: str, description: str) -> dict[str, Any]:
    """The broker's AsyncAPI 3.0 document, each declared channel's messages with payload and key binding."""
    doc: dict[str, Any] = AsyncAPI(broker, title=title, version="1.0.0",
                                   description=description).to_specification().to_jsonable()
    declared = _CHANNELS.get(broker, {})
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    messages = components.setdefault("messages", {})
    for channel in doc.get("channels", {}).values():
        found = declared.get(channel.get("address", ""))
        if found is None:
            continue
        for reference in channel.get("messages", {}).values():
            name = reference.get("$ref", "").rsplit("/", 1)[-1]
            message = messages.get(name)
            if message is None:
                continue
            message["payload"] = _payload(found.messages, schemas)
            message["contentType"] = found.content_type
            message.pop("correlationId", None)  # FastStream's header; no part of these contracts
            message["bindings"] = {"kafka": {"key": {"type": "string", "description": found.key},
                                             "bindingVersion": BINDING_VERSION}}
    _prune(doc, schemas)
    return doc


def _prune(doc: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Drop the schemas nothing refers to any more (FastStream's stand-ins for the payloads above)."""
    while True:
        text = json.dumps({k: v for k, v in doc.items() if k != "components"}) + json.dumps(
            {k: v for k, v in doc["components"].items() if k != "schemas"})
        unused = [name for name in schemas
                  if f'"{_REF.format(model=name)}"' not in text + json.dumps(
                      {k: v for k, v in schemas.items() if k != name})]
        if not unused:
            return
        for name in unused:
            del schemas[name]
