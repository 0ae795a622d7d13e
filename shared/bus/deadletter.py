"""Dead letters: a record no handler can apply is parked on its topic's `.dlq` twin, with why.

The dead letter is the original record as it came: the same value, the same key (so a replay lands
on the same partition, in the same order), every header (content-type among them), plus the
`dlq-*` headers saying where it came from and why it was parked, in words a person can act on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)

#: Headers of the dead letter this module writes; the original's headers keep their own names.
DLQ_PREFIX = "dlq-"


class Rejected(ValueError):
    """A well-formed message that breaks a business rule; it goes to the dead-letter topic."""


def _is_text(value: Any) -> bool:
    if not isinstance(value, bytes):
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def tolerant_parser(records: Any, parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's batch parser, given records whose non-UTF-8 header values are blanked (it
    decodes every header and would fail the whole poll on one, again at each redelivery: the
    partition stuck); the message keeps the records as they came, so they can be parked whole."""
    batch = records if isinstance(records, tuple) else (records,)
    clean = tuple(dataclasses.replace(r, headers=[(k, v if _is_text(v) else b"") for k, v in r.headers or ()])
                  for r in batch)
    message = await parse(clean if isinstance(records, tuple) else clean[0])
    message.raw_message = records
    return message


def rejected_reason(exc: Exception, *, event: Any, consumer: str) -> str:
    """Why a message that breaks a business rule was parked, and what to do."""
    return (f"rejected: {exc} (a {event.type} that breaks a rule of {consumer}; correct it and send "
            f"it again)")


def failed_reason(exc: Exception, *, event: Any, consumer: str, attempts: int) -> str:
    """Why a valid message whose handler kept failing was parked, and what to do."""
    return (f"handler error: {consumer} failed {attempts} times applying {event.type} {event.event_id} "
            f"with {type(exc).__name__}: {exc}; the message decoded and validated, so look in {consumer}'s "
            f"log for the exception, fix the cause, then replay this record from the dead-letter topic")


def _original_headers(record: Any, headers: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The record's own headers as text, and the names of those whose value is not UTF-8 (sent in hex).

    Read from the record itself where there is one (every header, in order; a repeated name keeps
    its last value), else from the decoded mapping the consumer had."""
    pairs: list[tuple[str, Any]] = list(getattr(record, "headers", None) or ()) or list(headers.items())
    out: dict[str, str] = {}
    binary: list[str] = []
    for name, value in pairs:
        if name.startswith(DLQ_PREFIX):
            continue  # a dead letter parked again: its reason is told afresh
        if isinstance(value, bytes):
            try:
                out[name] = value.decode("utf-8")
            except UnicodeDecodeError:
                out[name] = value.hex()
                binary.append(name)
        else:
            out[name] = "" if value is None else str(value)
    return out, binary


async def dead_letter(broker: KafkaBroker, body: bytes, *, topic: str, dlq: str, consumer: str,
                      headers: Mapping[str, Any], reason: str, raw: Any) -> None:
    """Publish a record to the dead-letter topic as it came (value, key, headers) with the reason
    and where it came from."""
    record = getattr(raw, "raw_message", raw)  # a FastStream message or the record itself
    kept, binary = _original_headers(record, headers)
    dlq_headers = {
        **kept,
        "dlq-reason": reason[:1000],
        "dlq-original-topic": topic,
        "dlq-consumer": consumer,
    }
    if binary:
        dlq_headers["dlq-hex-headers"] = ",".join(binary)  # their values are the original bytes in hex
    if hasattr(record, "partition") and hasattr(record, "offset"):
        dlq_headers["dlq-original-partition"] = str(record.partition)
        dlq_headers["dlq-original-offset"] = str(record.offset)
    key = getattr(record, "key", None)
    if isinstance(key, str):
        key = key.encode()
    log.error("dead-lettered a message from %s: %s", topic, reason)
    await broker.publish(body, dlq, key=key, headers=dlq_headers)
