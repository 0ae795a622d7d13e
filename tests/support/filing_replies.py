"""Intake's replies topic read as a platform reads it: each record a CloudEvents 1.0 event in Kafka
structured mode (the `cloudevents` SDK parses it), keyed `platform:reference`."""

from __future__ import annotations

import asyncio
from typing import Any

from cloudevents.v1.http import CloudEvent
from cloudevents.v1.kafka import KafkaMessage, from_structured

from shared.contracts import public
from tests.support import kafka

ACCEPTED = public.FILING_ACCEPTED
REJECTED = public.FILING_REJECTED


def reply_of(record: Any) -> CloudEvent:
    """The CloudEvent of one record of the replies topic, checked as a partner's consumer would:
    content-type application/cloudevents+json and no other header, subject = the record key."""
    headers = {name: value for name, value in (record.headers or [])}
    assert set(headers) == {"content-type"}, headers  # structured mode: no internal headers
    assert headers["content-type"].startswith(b"application/cloudevents+json"), headers
    event = from_structured(KafkaMessage(headers=headers, key=record.key, value=record.value))
    assert event["specversion"] == "1.0" and event["type"] in (ACCEPTED, REJECTED), event
    assert event["subject"] == event["partitionkey"] == (record.key or b"").decode()
    return event


def data_of(event: CloudEvent) -> dict[str, Any]:
    """The event's data (the reply's fields), with its type under `type` and its key under `_key`."""
    data: dict[str, Any] = event.get_data() or {}
    return {**data, "type": event["type"], "_key": event["subject"]}


def replies_now(*, bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every reply now on the topic: its data with `type` (the CloudEvent's) and `_key`."""
    return [data_of(reply_of(record)) for record in asyncio.run(kafka.records_now(bootstrap=bootstrap, topic=topic))]
