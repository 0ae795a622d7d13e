"""Filings sent while escalation fires a burst of timers: how fast each opens its case, quiet vs burst."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.harness import percentiles
from services.escalation.models import Case
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared.envelope import new_id
from shared.money import Money
from shared.outbox import OutboxEntry


def _filing(n: int) -> ComplaintFiled:
    now = datetime.now(UTC)
    return ComplaintFiled(
        complaint_id=new_id(), ticket=f"CP-PROBE-{n:06d}", platform="kamen-1", merchant=Party(id="m-probe"),
        complainant=Complainant(id=f"u-probe-{n}"), category="not-delivered",
        order=OrderSummary(order_number=f"P{n:011d}", item="100元游戏点卡",
                           amount=Money(amount_minor=10000, currency="CNY"), paid_at=now,
                           payment_channel="alipay"),
        demand={"type": "refund"}, filed_at=now)


class FilingProbe:
    """Sends one ComplaintFiled every interval_s on a thread of its own until stopped."""

    def __init__(self, *, bootstrap: str, topic: str, interval_s: float = 0.5) -> None:
        self._bootstrap, self._topic, self._interval = bootstrap, topic, interval_s
        self._stop = threading.Event()
        self.sent: list[tuple[str, datetime]] = []
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        """Begin sending."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sending and wait for the last one to go out."""
        self._stop.set()
        self._thread.join(timeout=30)

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap)
        await producer.start()
        try:
            n, next_at = 0, time.monotonic()
            while not self._stop.is_set():
                event = _filing(n)
                await producer.send_and_wait(self._topic, event.encode(), key=event.key().encode())
                self.sent.append((event.complaint_id, event.filed_at))
                n += 1
                next_at += self._interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        finally:
            await producer.stop()


def opened_lags(*, db: Any, probe: FilingProbe, burst_from: datetime,
                burst_to: datetime, wait_s: float = 15.0) -> dict[str, Any]:
    """Seconds from sending a filing to its case being opened, for those sent before and during the burst.

    The probe sends until it is stopped, so its last filings may still be on their way: their cases
    are waited for up to `wait_s`; `not_opened` counts those still missing then."""
    sent = dict(probe.sent)
    deadline = time.monotonic() + wait_s
    while True:
        opened = {d["_id"]: d["updated_at"] for d in
                  db[Case._get_collection_name()].find({"_id": {"$in": list(sent)}}, {"updated_at": 1})}
        if len(opened) == len(sent) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    quiet, burst, missing = [], [], 0
    for cid, at in sent.items():
        if cid not in opened:
            missing += 1
            continue
        lag = (opened[cid] - at).total_seconds() * 1000
        if at < burst_from:
            quiet.append(lag)
        elif at <= burst_to:
            burst.append(lag)
    return {"quiet_ms": percentiles(quiet), "quiet_n": len(quiet), "during_burst_ms": percentiles(burst),
            "during_burst_n": len(burst), "not_opened": missing}


def duplicate_events(*, db: Any, complaint_ids: set[str]) -> dict[str, int]:
    """SLA events written to the outbox for the due cases: how many, and how many beyond one per case."""
    counts: dict[str, int] = {}
    for entry in db[OutboxEntry._get_collection_name()].find(
            {"message_type": {"$in": ["SlaWarning", "SlaBreached"]}}, {"key": 1}):
        if entry["key"] in complaint_ids:
            counts[entry["key"]] = counts.get(entry["key"], 0) + 1
    return {"sla_events": sum(counts.values()), "cases_with_sla_event": len(counts),
            "duplicate_sla_events": sum(n - 1 for n in counts.values())}
