"""Helpers for escalation tests: filed complaints as events, topic reads, tokens, an in-process service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi.testclient import TestClient

from services.escalation.config import EscalationSettings
from services.escalation.main import create_app
from shared.auth import mint_token
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared.envelope import Event, new_id, utcnow
from shared.money import Money
from shared.outbox import stored_records
from shared.settings import ServiceSettings
from shared.topics import TopicSettings

DATA = Path(__file__).resolve().parents[1] / "data" / "escalation"
FAST_POLICY = DATA / "policy_fast.yaml"
SECRET = ServiceSettings().auth_secret
PLATFORM = "kamen-1"


def filed(*, category: str, merchant: str = "m-1001", complainant: str = "u-2001",
          channel: str = "alipay", amount_minor: int = 10000, item: str = "100元游戏点卡") -> ComplaintFiled:
    """A ComplaintFiled as intake would publish it, with a fresh id and ticket."""
    cid = new_id()
    now = utcnow()
    return ComplaintFiled(
        complaint_id=cid, ticket=f"CP-T-{cid[:12]}", platform=PLATFORM,
        merchant=Party(id=merchant, name="星辰卡铺"), complainant=Complainant(id=complainant),
        category=category, order=OrderSummary(
            order_number=cid[:16], item=item, amount=Money(amount_minor=amount_minor, currency="CNY"),
            paid_at=now - timedelta(hours=2), payment_channel=channel),
        demand={"type": "refund"}, filed_at=now)


def token(*, role: str, subject: str = "agent-7", merchant_id: str | None = None,
          platform: str = PLATFORM) -> dict[str, str]:
    """An Authorization header for a caller."""
    value = mint_token(secret=SECRET, subject=subject, role=role, platform=platform,
                       merchant_id=merchant_id)
    return {"Authorization": f"Bearer {value}"}


def send(*, bootstrap: str, topic: str, events: list[Event]) -> None:
    """Publish events keyed by complaint id, as the other services do."""
    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(topic, event.encode(), key=event.key().encode())
        finally:
            await producer.stop()
    asyncio.run(go())


def read_all(*, bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every message on a topic up to its current end, decoded."""
    async def go() -> list[dict[str, Any]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic)
                                                         or await _partitions(consumer, topic))]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            out: list[dict[str, Any]] = []
            while [p for p in parts if await consumer.position(p) < ends[p]]:
                batches = await consumer.getmany(*parts, timeout_ms=500)
                out += [json.loads(r.value) for records in batches.values() for r in records]
            return out
        finally:
            await consumer.stop()
    return asyncio.run(go())


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


def outbox_of(env: dict[str, str], complaint_id: str) -> str:
    """What the store holds for a complaint: its case and its outbox entries (a diagnosis)."""
    from pymongo import MongoClient

    with MongoClient(env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as mongo:
        db = mongo[env["ESCALATION_MONGODB_DB"]]
        # A complaint's record may sit in another's entry (an atomic group writes one per topic).
        # Records written together are packed in their entry (shared.outbox.entries.PackedRecords).
        entries = []
        for e in db["outbox"].find():
            mine = [m["message_type"] for m in stored_records(e) if m["key"] == complaint_id]
            if mine:
                entries.append({k: e.get(k) for k in ("message_type", "state", "attempts", "last_error",
                                                       "published_at")} | {"records": mine})
        case = db["cases"].find_one({"_id": complaint_id}, {"state": 1})
    return f"case: {case}; outbox entries: {entries}"


def of(messages: list[dict[str, Any]], *, complaint_id: str, type_: str | None = None) -> list[dict]:
    """Messages about one complaint, optionally of one type."""
    return [m for m in messages if m.get("complaint_id") == complaint_id
            and (type_ is None or m["type"] == type_)]


def settings_for(*, env: dict[str, str], policy: Path | None = None) -> EscalationSettings:
    """Escalation settings on the test servers and namespace."""
    extra = {"policy_path": policy} if policy else {}
    return EscalationSettings(
        kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], mongodb_uri=env["MONGODB_URI"],
        mongodb_db=env["ESCALATION_MONGODB_DB"], consumer_group=env["ESCALATION_CONSUMER_GROUP"],
        telemetry_db=env["COMPLAINTS_TELEMETRY_DB"], kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=1000, outbox_poll_interval_s=0.2, timer_poll_interval_s=0.2,
        topics=TopicSettings(prefix=env["COMPLAINTS_TOPIC_PREFIX"]), **extra)


@contextmanager
def escalation_client(*, env: dict[str, str], policy: Path | None = None) -> Iterator[TestClient]:
    """Escalation running in this process on the real servers, ready for calls."""
    from tests.support.waiting import wait_until

    with TestClient(create_app(settings_for(env=env, policy=policy))) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60, what="escalation ready")
        yield client


def wait_case(client: TestClient, ticket: str, *, headers: dict[str, str], state: str | None = None,
              timeout: float = 30.0) -> dict[str, Any]:
    """The case once it exists (and is in a state, if given)."""
    from tests.support.waiting import wait_until

    seen: list[str] = []

    def check() -> dict[str, Any] | None:
        r = client.get(f"/v1/cases/{ticket}", headers=headers)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        seen[:] = [f"HTTP {r.status_code}, state {body.get('state')!r}, detail {body.get('detail')!r}"]
        if r.status_code != 200:
            return None
        return body if state is None or body["state"] == state else None

    def explain() -> str:
        ready = client.get("/readyz")  # the consumers' positions and groups
        return f"the last answer: {seen[0] if seen else 'none'}; /readyz: {ready.status_code} {ready.text[:2000]}"
    return wait_until(check, timeout=timeout, what=f"case {ticket} in state {state}", explain=explain)


def instant(value: str) -> datetime:
    """Parse an ISO timestamp from a JSON answer."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
