"""Dead letters: a record no handler can apply is parked on its topic's `.dlq` twin, with why."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)


class Rejected(ValueError):
    """A well-formed message that breaks a business rule; it goes to the dead-letter topic."""


async def dead_letter(broker: KafkaBroker, body: bytes, *, topic: str, dlq: str, consumer: str,
                      headers: Mapping[str, Any], reason: str, raw: Any) -> None:
    """Publish a record's bytes to the dead-letter topic with the reason and where it came from."""
    record = getattr(raw, "raw_message", raw)  # a FastStream message or the record itself
    dlq_headers = {
        "dlq-reason": reason[:1000],
        "dlq-original-topic": topic,
        "dlq-consumer": consumer,
    }
    if hasattr(record, "partition") and hasattr(record, "offset"):
        dlq_headers["dlq-original-partition"] = str(record.partition)
        dlq_headers["dlq-original-offset"] = str(record.offset)
    if "traceparent" in headers:
        dlq_headers["traceparent"] = str(headers["traceparent"])
    log.error("dead-lettered a message from %s: %s", topic, reason)
    await broker.publish(body, dlq, headers=dlq_headers)
