"""The consumer: one service's subscription to one topic, applied in groups, poison dead-lettered."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from opentelemetry.trace import Tracer

from shared.bus.broker import group_of, raw_body, record_headers, trace_of
from shared.bus.deadletter import Rejected, dead_letter, failed_reason, rejected_reason, tolerant_parser
from shared.bus.documents import document_channel
from shared.bus.handling import Handler, Prepare, Record, prepare_group, run_group, run_one
from shared.bus.keygate import KeyGate
from shared.bus.overlap import apply_in_turn, committed, handled, my_commit_turn, my_turn, prepared
from shared.envelope import Message, PoisonMessage, decode
from shared.ledger import AlreadyProcessed
from shared.logs import record_context
from shared.outbox import CAUSE
from shared.settings import ServiceSettings
from shared.store import STORE_UNAVAILABLE, Sink, UnitOfWork, is_conflict

#: Tries of a shared transaction that met a write conflict before its messages are split in two.
GROUP_ATTEMPTS = 3

log = logging.getLogger(__name__)


class Consumer:
    """Subscribes one service to one topic: decode, dispatch by type, dead-letter poison.

    It takes up to `consume_batch_max` records per poll. Records of different keys are applied
    together in units of work (`UnitOfWork.group`) of up to `consume_group_max` (see overlap),
    handed to each record's handler: one commit, one ledger insert and one outbox insert for all of
    them; a record applied alone gets a standalone unit. If anything in a group fails, it is undone
    and each record applied alone, where a repeat, a rule-breaking message or a bug is told apart;
    if it keeps losing write conflicts, it is applied as two halves.
    """

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        settings: ServiceSettings,
        topic: str,
        handlers: Mapping[type[Message], Handler],
        ready: Callable[[], bool],
        on_repeat: Callable[[Message], Awaitable[None]] | None = None,
        after_commit: Callable[[], None] | None = None,
        tracer: Tracer | None = None,
        prepare: Prepare | None = None,
        atomic: bool = True,
        sink: Sink | None = None,
        gate: KeyGate | None = None,
        key_doc: str | None = None,
    ) -> None:
        self._broker = broker
        self._sink = sink
        #: Shared by the service's consumers (its runtime gives them one): see KeyGate.
        self.gate = gate or KeyGate()
        self._atomic = atomic
        self._settings = settings
        self._topic = topic
        self._dlq = settings.topics.dead_letter(topic)
        self._handlers = dict(handlers)
        self._names = sorted(cls.model_fields["type"].default for cls in self._handlers)
        self._ready = ready
        self._on_repeat = on_repeat
        self._after_commit = after_commit
        self._prepare = prepare
        self._tracer = tracer or trace.get_tracer(__name__)
        self.processed = 0
        self.dead_lettered = 0
        self.batches = self.undone = self.conflicts = self.split = self.rewound = 0
        self._subscriber: Any = None
        #: What the topic's record key is, for the AsyncAPI document (default: see documents.key_of).
        self.key_doc = key_doc

    def register(self) -> None:
        """Attach the subscriber to the broker (before the broker starts)."""
        names = ", ".join(self._names)
        subscriber = self._broker.subscriber(
            self._topic,
            group_id=group_of(self._settings.consumer_group, self._topic),
            # Anything escaping the handler (it catches all it can) rewinds the poll: redelivered,
            # and the idempotent handlers apply each record once; never acknowledged unapplied.
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=raw_body, parser=tolerant_parser,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            batch=True,
            max_records=self._settings.consume_batch_max,
            batch_timeout_ms=self._settings.consume_batch_wait_ms,
            title=f"{self._topic}:{self._settings.service_name}",
            description=f"{self._settings.service_name} handles: {names}",
        )
        subscriber(self._on_batch)
        self._subscriber = subscriber
        # Raw bytes in, so FastStream shows no payload: the document takes it from here.
        document_channel(self._broker, topic=self._topic, messages=list(self._handlers), key=self.key_doc)

    def stats(self) -> dict[str, Any]:
        """What this member consumes now: its partitions and what it applied or parked."""
        client = getattr(self._subscriber, "consumer", None)
        assigned = sorted(tp.partition for tp in client.assignment()) if client is not None else []
        return {"topic": self._topic, "group": group_of(self._settings.consumer_group, self._topic),
                "partitions": assigned, "processed": self.processed,
                "dead_lettered": self.dead_lettered, "shared_transactions": self.batches,
                "shared_transactions_undone": self.undone, "shared_transactions_retried": self.conflicts,
                "shared_transactions_split": self.split}

    async def _on_batch(self, _body: Any, message: KafkaMessage) -> None:
        records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
        try:
            await self.dispatch_batch([(r.value, record_headers(r), r) for r in records])
        except Exception:
            # E.g. the dead-letter topic could not be written. The poll is rewound (see register);
            # pause so a lasting cause is not retried in a tight loop.
            log.exception("a poll of %d records from %s failed; it will be delivered again", len(records),
                          self._topic)
            self.rewound += 1
            await asyncio.sleep(1.0)
            raise

    async def dispatch_batch(self, records: list[Record]) -> None:
        """Apply records in their order per key; poison and rule-breaking ones are dead-lettered."""
        rounds: list[list[tuple[Message, Record]]] = []
        seen: Counter[str] = Counter()
        for record in records:
            body, headers, raw = record
            try:
                event = decode(body, max_bytes=self._settings.max_event_bytes, known=self._names)
            except PoisonMessage as exc:
                await self._dead_letter(body, headers=headers, reason=str(exc), raw=raw)
                continue
            if type(event) not in self._handlers:
                continue  # another service's event on a shared topic
            # A key's n-th record goes in round n: one key's records keep their order, and no
            # round holds two of one key (the store then never sees one complaint twice in it).
            key = event.key()
            if seen[key] == len(rounds):
                rounds.append([])
            rounds[seen[key]].append((event, record))
            seen[key] += 1
        for group in rounds:
            await apply_in_turn(group, size=self._settings.consume_group_max, apply=self._apply_group)

    async def _apply_group(self, group: list[tuple[Message, Record]]) -> None:
        """Apply a round together; one by one if that failed. One that kept losing write conflicts
        goes as two halves: each alone would meet the same conflicts, one commit per message, while
        halves leave the contested one with fewer others (one by one held notices 25 s at 50/s)."""
        if len(group) > 1:
            outcome = await self._apply_together(group)
            if outcome == "applied":
                return
            if outcome == "conflicted":
                self.split += 1
                half = len(group) // 2
                await self._apply_group(group[:half])
                await self._apply_group(group[half:])
                return
        for event, record in group:
            await self._apply_one(event, record)

    def _span(self, headers: Mapping[str, Any]) -> Any:
        return self._tracer.start_as_current_span(
            f"{self._topic} process", context=trace_of(headers), kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": self._topic,
                        "messaging.operation": "process"})

    async def _apply_together(self, group: list[tuple[Message, Record]]) -> Literal["applied", "conflicted", "undone"]:
        """Apply the group in one shared transaction: "applied"; "conflicted" when it lost a write
        conflict every time it was tried; "undone" when anything else failed."""
        attempt = 0
        while True:
            attempt += 1
            batch = UnitOfWork.group(atomic=self._atomic, sink=self._sink)
            # What its work hands out before the commit (notify's webhooks: services/notify/service/early.py)
            # is awaited here, in an atomic group only: one undone stored nothing of it.
            batch.before_commit = [] if self._atomic else None
            # Only an atomic group is applied again whole when it loses a conflict (see KeyGate).
            held = await self.gate.take({event.key() for event, _ in group}) if self._atomic else set()
            try:
                if self._prepare is not None:
                    await asyncio.to_thread(prepare_group, group, batch, self._prepare)
                prepared()  # the poll's next transaction may read ahead while this one runs its handlers
                await my_turn()  # once the transaction before this one has run its own
                await run_group(group, batch, handlers=self._handlers, span=self._span)
                handled()  # the poll's next transaction may run its handlers while this one commits
                await my_commit_turn()  # once the transaction before this one has committed
                for hook in batch.before_commit or ():
                    await hook()
                await asyncio.to_thread(batch.commit)
                committed()
            except STORE_UNAVAILABLE as exc:
                await asyncio.to_thread(batch.abort)
                delay = min(5.0, 0.2 * 2**attempt)
                log.warning("store unavailable applying %d messages, retry in %.1fs: %s", len(group), delay, exc)
                await asyncio.sleep(delay)
                continue
            except Exception as exc:  # a conflict: again, then in halves; a repeat, a rejection or a bug: one by one
                await asyncio.to_thread(batch.abort)
                if is_conflict(exc):
                    # Another transaction wrote one of the same documents first (another topic's
                    # poll about the same complaint): the whole group again beats each alone.
                    if attempt < GROUP_ATTEMPTS:
                        self.conflicts += 1
                        await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)
                        continue
                    log.info("a shared transaction of %d messages kept losing write conflicts; "
                             "applying it in two halves", len(group))
                    return "conflicted"
                self.undone += 1
                log.info("undid a shared transaction of %d messages (%s: %s); applying each alone",
                         len(group), type(exc).__name__, str(exc)[:200])
                return "undone"
            except BaseException:
                # Stopping (cancelled): abort now rather than leave the store holding the batch's
                # documents until it reaps the transaction; nothing was committed, nothing is lost.
                batch.abort()
                raise
            finally:
                await self.gate.give(held)
            self.processed += len(group)
            self.batches += 1
            if self._after_commit is not None:
                self._after_commit()
            return "applied"

    async def _apply_one(self, event: Message, record: Record) -> None:
        held = await self.gate.take({event.key()}) if self._atomic else set()
        try:
            await self._apply_one_held(event, record)
        finally:
            await self.gate.give(held)

    async def _apply_one_held(self, event: Message, record: Record) -> None:
        body, headers, raw = record
        handler = self._handlers[type(event)]
        attempt = 0
        with self._span(headers), record_context(event):
            while True:
                attempt += 1
                cause = CAUSE.set(event.event_id)
                try:
                    await run_one(handler, event, UnitOfWork.standalone(sink=self._sink))
                    self.processed += 1
                    if self._after_commit is not None:
                        self._after_commit()
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
                    await self._dead_letter(body, headers=headers, raw=raw, reason=rejected_reason(
                        exc, event=event, consumer=self._settings.service_name))
                    return
                except Exception as exc:  # a bug or a broken message must not stop the consumer
                    if attempt < 3:
                        log.warning("handler for %s failed (attempt %d): %r", event.type, attempt, exc)
                        await asyncio.sleep(0.1 * attempt)
                        continue
                    log.exception("handler for %s failed; dead-lettering", event.type)
                    await self._dead_letter(body, headers=headers, raw=raw, reason=failed_reason(
                        exc, event=event, consumer=self._settings.service_name, attempts=attempt))
                    return
                finally:
                    CAUSE.reset(cause)

    async def _dead_letter(self, body: bytes, *, headers: Mapping[str, Any], reason: str, raw: Any) -> None:
        await dead_letter(self._broker, body, topic=self._topic, dlq=self._dlq,
                          consumer=self._settings.service_name, headers=headers, reason=reason, raw=raw)
        self.dead_lettered += 1
