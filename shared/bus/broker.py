"""The service's Kafka broker, its consumer group names, and the publish step of its outbox relay."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any, Union

from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from opentelemetry import context as otel_context
from opentelemetry import propagate

from shared.bus.documents import document_channel
from shared.bus.security import broker_security
from shared.contracts.public import is_cloud_event_headers
from shared.envelope import Message
from shared.outbox import Publish, Record
from shared.settings import ServiceSettings


def group_of(consumer_group: str, topic: str) -> str:
    """The consumer group that reads one topic for a service: one group per topic.

    A group per (service, topic) means starting or stopping the consumer of one topic never makes
    the members of the others rebalance, and it keeps clear of a Tansu 0.6 fault: when a group's
    leader left while the group was re-forming (as a process's members of one group do when they
    stop together), its next member waited for that leader forever (the broker's group state kept
    the departed leader).
    """
    return f"{consumer_group}.{topic}"


def create_broker(*, settings: ServiceSettings) -> KafkaBroker:
    """A KafkaBroker. Its spans are ours: each consumed record's process span (`Consumer`), a child
    of the span that wrote the record (`make_publish`). FastStream's telemetry middleware added a
    "create" span to each publish and two spans to each poll, a quarter of a complaint's spans,
    which told nothing these do not."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        security=broker_security(settings),
        graceful_timeout=10.0,
        # FastStream's own logger would bypass the masking handler configured for the process.
        logger=logging.getLogger("faststream"),
    )


def trace_of(headers: Mapping[str, Any]) -> otel_context.Context:
    """The trace context a record's headers carry (that of whatever published it)."""
    return propagate.extract({k: v for k, v in headers.items() if isinstance(v, str)})


def record_headers(record: Any) -> dict[str, Any]:
    """A Kafka record's headers as text (values that are not UTF-8 stay bytes)."""
    out: dict[str, Any] = {}
    for key, value in record.headers or ():
        try:
            out[key] = value.decode() if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            out[key] = value
    return out


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """Hand the handler the raw bytes: decoding and dead-lettering are ours to do."""
    return message.body


def document_publisher(
    broker: KafkaBroker, *, topic: str, messages: list[type[Message]], description: str, key: str | None = None,
    content_type: str = "application/json",
) -> None:
    """Declare what a service publishes on a topic so the AsyncAPI document shows it: the messages'
    schema, the record key (`key`; the complaint id for complaint events) and the content type."""
    schema: Any = messages[0] if len(messages) == 1 else Union[tuple(messages)]  # noqa: UP007
    broker.publisher(topic, title=f"{topic}:publish", description=description, schema=schema)
    document_channel(broker, topic=topic, messages=list(messages), key=key, content_type=content_type)


def make_publish(broker: KafkaBroker) -> Publish:
    """The outbox relay's publish step; returns the producer's future of the broker's confirmation.

    A record carries the trace context it was written in, so its consumers' spans are children of
    the span that wrote it (a handler's, a request's): the complaint's trace goes on through the
    outbox. No span of its own: a publish span per record was a fifth of a delivering service's CPU
    and three quarters of the spans it stored, and told only the outbox's delay, which the gap
    between the writer's span and its consumers' shows (as does `complaints.outbox.oldest_pending_age`).

    Straight to the Kafka producer: FastStream's publish (its middleware chain, and the
    correlation_id header it adds, which nothing here reads) cost more than the send itself. A
    public CloudEvent carries its own headers only: no trace context."""

    async def publish(record: Record) -> Awaitable[Any]:
        # FastStream's ProducerProto does not declare the aiokafka producer its implementation wraps.
        producer = broker.config.producer._producer.producer  # type: ignore[attr-defined]  # noqa: SLF001
        headers = dict(record.kafka_headers) if record.kafka_headers else {
            "content-type": "application/json", "message-type": record.message_type}
        if not is_cloud_event_headers(record.kafka_headers):
            headers.update(record.headers)
        return await producer.send(record.topic, value=record.payload.encode(), key=record.key.encode(),
                                   headers=[(k, str(v).encode()) for k, v in headers.items()])

    return publish
