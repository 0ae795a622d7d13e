"""Evidence in-process on the real servers: complaints fed over Kafka, tokens, uploads, store peeks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from pymongo import MongoClient

from services.evidence.config import EvidenceSettings
from services.evidence.main import create_app
from shared.auth import mint_token
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared.envelope import Message, new_id
from shared.money import Money
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.servers import Servers
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

PLATFORM, MERCHANT, COMPLAINANT = "kamen-1", "m-1001", "u-2001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@contextmanager
def running_evidence(*, servers: Servers, namespace: str, service_env: dict[str, str],
                     **overrides: Any) -> Iterator[TestClient]:
    """The evidence service in this process, its topics created, consuming from the start."""
    topics = create_topics(env=service_env)
    settings = EvidenceSettings(
        kafka_bootstrap_servers=servers.bootstrap, mongodb_uri=servers.mongodb_uri,
        mongodb_db=f"{namespace}_evidence", consumer_group=f"{namespace}-evidence",
        telemetry_db=f"{namespace}_telemetry", topics=topics, outbox_poll_interval_s=0.2,
        kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=1000, **overrides)
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60,
                   what="evidence to be ready")
        yield client


def settings_of(client: TestClient) -> EvidenceSettings:
    """The settings the in-process service runs with."""
    return client.app.state.runtime.settings


def token(client: TestClient, *, role: str = "complainant", subject: str = COMPLAINANT,
          platform: str | None = PLATFORM, merchant_id: str | None = None) -> dict[str, str]:
    """An Authorization header for a caller."""
    minted = mint_token(secret=settings_of(client).auth_secret, subject=subject, role=role,
                        platform=platform, merchant_id=merchant_id)
    return {"Authorization": f"Bearer {minted}"}


def publish(client: TestClient, *, topic: str, message: Message) -> None:
    """Put one message on a topic as another service or a partner would."""
    asyncio.run(kafka.send(bootstrap=settings_of(client).kafka_bootstrap_servers, topic=topic,
                           value=message.encode(), key=message.key().encode()))


def file_complaint(client: TestClient, *, category: str = "invalid-card-key",
                   order_number: str = "202611230001", amount_minor: int = 10000,
                   transaction_id: str | None = "2026112322001400001",
                   item: str = "100元游戏点卡",
                   description: str = "卡密提示已被使用。") -> ComplaintFiled:
    """Publish a ComplaintFiled and wait until evidence has opened its file."""
    suffix = new_id()[:6]
    event = ComplaintFiled(
        complaint_id=new_id(), ticket=f"CP-20261123-{suffix}", platform=PLATFORM,
        merchant=Party(id=MERCHANT, name="星辰卡铺"),
        complainant=Complainant(id=COMPLAINANT, display_name="小王"), category=category,
        order=OrderSummary(order_number=order_number, item=item,
                           amount=Money(amount_minor=amount_minor, currency="CNY"),
                           paid_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
                           payment_channel="alipay", payment_transaction_id=transaction_id),
        demand={"type": "refund", "mode": "full"}, description=description,
        incident_at=datetime(2026, 11, 23, 1, 5, tzinfo=UTC),
        filed_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    publish(client, topic=settings_of(client).topics.intake_events, message=event)
    wait_until(lambda: client.get(f"/v1/complaints/{event.ticket}/evidence-file",
                                  headers=token(client)).status_code == 200,
               timeout=30, what="the evidence file to open")
    return event


def upload(client: TestClient, ticket: str, *, content: bytes, kind: str, name: str = "a.png",
           fields: dict[str, Any] | str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    """POST one evidence file as multipart."""
    text = fields if isinstance(fields, str) else json.dumps(fields or {})
    if any(ord(ch) < 32 for ch in name):  # httpx would percent-encode them; send them raw
        boundary = new_id()
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            .encode(), f'--{boundary}\r\nContent-Disposition: form-data; name="fields"\r\n\r\n'
            .encode(), text.encode(), f'\r\n--{boundary}\r\nContent-Disposition: form-data; '
            'name="file"; filename="'.encode(), name.encode(),
            b'"\r\nContent-Type: application/octet-stream\r\n\r\n', content,
            f"\r\n--{boundary}--\r\n".encode()])
        return client.post(f"/v1/complaints/{ticket}/evidence", content=body, headers={
            **(headers or token(client)),
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
    return client.post(f"/v1/complaints/{ticket}/evidence", headers=headers or token(client),
                       files={"file": (name, content, "application/octet-stream")},
                       data={"kind": kind, "fields": text})


def store(client: TestClient) -> Any:
    """The evidence database, opened directly (as someone tampering with it would)."""
    settings = settings_of(client)
    return MongoClient(settings.mongodb_uri, tz_aware=True)[settings.mongodb_db]


def chunk_count(client: TestClient) -> int:
    """How many GridFS chunks the evidence database holds."""
    return store(client)["fs.chunks"].count_documents({})


def read_event(client: TestClient, *, match: Callable[[dict[str, Any]], bool],
               timeout: float = 30.0) -> dict[str, Any]:
    """The first evidence event that matches, read from the topic."""
    settings = settings_of(client)
    record = asyncio.run(kafka.read_until(
        bootstrap=settings.kafka_bootstrap_servers, topic=settings.topics.evidence_events,
        match=lambda r: match(json.loads(r.value)), timeout=timeout))
    return json.loads(record.value)


def events_until(client: TestClient, *, ticket: str, until: Callable[[dict[str, Any]], bool],
                 timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every evidence event of a ticket, in topic order, up to the first that `until` accepts
    (one complaint's events share a partition, so what came before it is all there)."""
    seen: list[dict[str, Any]] = []

    def collect(value: dict[str, Any]) -> bool:
        if value.get("ticket") != ticket:
            return False
        seen.append(value)
        return until(value)

    read_event(client, match=collect, timeout=timeout)
    return seen


def topics_of(client: TestClient) -> TopicSettings:
    """Topic names of the running service."""
    return settings_of(client).topics


def image_bytes(*, seed: int, fmt: str = "PNG", software: str | None = None,
                taken: datetime | None = None) -> bytes:
    """A small real image, different per seed, optionally with EXIF editor and capture time."""
    import io

    from PIL import Image

    picture = Image.new("RGB", (32, 32), color=(seed % 256, (seed * 7) % 256, (seed * 13) % 256))
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[0x9011] = "+00:00"
    out = io.BytesIO()
    picture.save(out, format=fmt, exif=exif.tobytes() if (software or taken) else b"")
    return out.getvalue()
