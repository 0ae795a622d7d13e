"""Kafka plumbing: the traced broker, the dead-letter-aware consumer and the outbox publisher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Union

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.message import StreamMessage
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider

from shared.envelope import Message, PoisonMessage, decode
from shared.ledger import AlreadyProcessed
from shared.outbox import CAUSE, OutboxEntry, trace_parent
from shared.settings import ServiceSettings
from shared.store import STORE_UNAVAILABLE

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None]]


class Rejected(ValueError):
    """A well-formed message that breaks a business rule; it goes to the dead-letter topic."""


def create_broker(*, settings: ServiceSettings, tracer_provider: TracerProvider) -> KafkaBroker:
    """A KafkaBroker with OpenTelemetry on every publish and consume."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider)],
        graceful_timeout=10.0,
        # FastStream's own logger would bypass the masking handler configured for the process.
        logger=logging.getLogger("faststream"),
    )


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """Hand the handler the raw bytes: decoding and dead-lettering are ours to do."""
    return message.body


def document_publisher(
    broker: KafkaBroker, *, topic: str, messages: list[type[Message]], description: str
) -> None:
    """Declare what a service publishes on a topic so the AsyncAPI document shows it."""
    schema: Any = messages[0] if len(messages) == 1 else Union[tuple(messages)]  # noqa: UP007
    broker.publisher(topic, title=f"{topic}:publish", description=description, schema=schema)


def make_publish(broker: KafkaBroker) -> Callable[[OutboxEntry], Awaitable[None]]:
    """The outbox relay's publish step: the entry's own trace context becomes the parent."""

    async def publish(entry: OutboxEntry) -> None:
        token = otel_context.attach(trace_parent(entry))
        try:
            await broker.publish(
                entry.payload.encode(),
                entry.topic,
                key=entry.key.encode(),
                headers=dict(entry.kafka_headers) if entry.kafka_headers else {
                    "content-type": "application/json", "message-type": entry.message_type},
            )
        finally:
            otel_context.detach(token)

    return publish


class Consumer:
    """Subscribes one service to one topic: decode, dispatch by type, dead-letter poison."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        settings: ServiceSettings,
        topic: str,
        handlers: Mapping[type[Message], Handler],
        ready: Callable[[], bool],
        on_repeat: Callable[[Message], Awaitable[None]] | None = None,
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._topic = topic
        self._dlq = settings.topics.dead_letter(topic)
        self._handlers = dict(handlers)
        self._ready = ready
        self._on_repeat = on_repeat
        self.processed = 0
        self.dead_lettered = 0
        self._subscriber: Any = None

    def register(self) -> None:
        """Attach the subscriber to the broker (before the broker starts)."""
        names = ", ".join(sorted(cls.model_fields["type"].default for cls in self._handlers))
        subscriber = self._broker.subscriber(
            self._topic,
            group_id=self._settings.consumer_group,
            ack_policy=AckPolicy.ACK,
            decoder=_raw_body,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            title=f"{self._topic}:{self._settings.service_name}",
            description=f"{self._settings.service_name} handles: {names}",
        )
        subscriber(self._on_message)
        self._subscriber = subscriber

    def stats(self) -> dict[str, Any]:
        """What this member consumes now: its partitions and what it applied or parked."""
        client = getattr(self._subscriber, "consumer", None)
        assigned = sorted(tp.partition for tp in client.assignment()) if client is not None else []
        return {"topic": self._topic, "partitions": assigned, "processed": self.processed,
                "dead_lettered": self.dead_lettered}

    async def _on_message(self, body: bytes, message: KafkaMessage) -> None:
        await self.dispatch(body, headers=dict(message.headers), raw=message)

    async def dispatch(self, body: bytes, *, headers: Mapping[str, Any], raw: Any = None) -> None:
        """Apply one message; poison and rule-breaking ones go to the dead-letter topic."""
        try:
            event = decode(body, max_bytes=self._settings.max_event_bytes)
        except PoisonMessage as exc:
            await self._dead_letter(body, headers=headers, reason=str(exc), raw=raw)
            return
        handler = self._handlers.get(type(event))
        if handler is None:
            return  # another service's event on a shared topic
        attempt = 0
        while True:
            attempt += 1
            cause = CAUSE.set(event.event_id)
            try:
                await handler(event)
                self.processed += 1
                return
            except AlreadyProcessed:
                log.info("ignored repeat of %s %s", event.type, event.event_id)
                if self._on_repeat is not None:
                    await self._on_repeat(event)
                return
            except STORE_UNAVAILABLE as exc:
                # Hold the partition (no commit) until the store is back: nothing is skipped.
                delay = min(5.0, 0.2 * 2**attempt)
                log.warning("store unavailable handling %s, retry in %.1fs: %s", event.type, delay, exc)
                await asyncio.sleep(delay)
            except Rejected as exc:
                await self._dead_letter(body, headers=headers, reason=f"rejected: {exc}", raw=raw)
                return
            except Exception as exc:  # a bug or a broken message must not stop the consumer
                if attempt < 3:
                    log.warning("handler for %s failed (attempt %d): %r", event.type, attempt, exc)
                    await asyncio.sleep(0.1 * attempt)
                    continue
                log.exception("handler for %s failed; dead-lettering", event.type)
                await self._dead_letter(
                    body, headers=headers, reason=f"handler error: {type(exc).__name__}: {exc}", raw=raw
                )
                return
            finally:
                CAUSE.reset(cause)

    async def _dead_letter(
        self, body: bytes, *, headers: Mapping[str, Any], reason: str, raw: Any
    ) -> None:
        record = getattr(raw, "raw_message", None)
        dlq_headers = {
            "dlq-reason": reason[:1000],
            "dlq-original-topic": self._topic,
            "dlq-consumer": self._settings.service_name,
        }
        if record is not None and not isinstance(record, tuple):
            dlq_headers["dlq-original-partition"] = str(record.partition)
            dlq_headers["dlq-original-offset"] = str(record.offset)
        if "traceparent" in headers:
            dlq_headers["traceparent"] = str(headers["traceparent"])
        log.error("dead-lettered a message from %s: %s", self._topic, reason)
        await self._broker.publish(body, self._dlq, headers=dlq_headers)
        self.dead_lettered += 1
