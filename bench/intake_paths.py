"""Intake's two ways in: HTTP filings/s, bursts of identical POSTs, and FileComplaint commands/s.

Run: .venv/bin/python -m bench.intake_paths [--filings 300] [--commands 300] [--bursts 10]
Prints figures; nothing is asserted. Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI when set.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cloudevents.v1.kafka import KafkaMessage, from_structured

from shared.auth import mint_token
from shared.contracts.complaints import FileComplaint
from shared.envelope import new_id
from shared.runtime import embedded, supervisor
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support.samples import sample_complaint


def complaint(number: str) -> dict[str, Any]:
    """The zh sample complaint with its own order number."""
    return sample_complaint("intake/complaint_zh.json", **{"order.number": number})


def spread(latencies: list[float]) -> str:
    """p50 / p99 / max in ms."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"


async def filings(url: str, headers: dict[str, str], count: int, concurrency: int) -> None:
    """Distinct complaints, `concurrency` at a time."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def one(i: int) -> None:
            async with gate:
                start = time.perf_counter()
                response = await client.post("/v1/complaints", json=complaint(f"BENCH-{i:06d}"), headers=headers)
                response.raise_for_status()
                latencies.append((time.perf_counter() - start) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        elapsed = time.perf_counter() - began
    print(f"HTTP filings: {count} in {elapsed:.1f} s = {count / elapsed:.0f}/s at concurrency {concurrency}; "
          f"{spread(latencies)}")


async def bursts(url: str, headers: dict[str, str], rounds: int, copies: int = 20) -> None:
    """`copies` identical POSTs at once, `rounds` times: how long a burst takes, how many were filed."""
    walls: list[float] = []
    created = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for r in range(rounds):
            body = complaint(f"BURST-{r:04d}")
            began = time.perf_counter()
            answers = await asyncio.gather(*(client.post("/v1/complaints", json=body, headers=headers)
                                             for _ in range(copies)))
            walls.append((time.perf_counter() - began) * 1000)
            created += sum(a.status_code == 201 for a in answers)
    print(f"Bursts of {copies} identical POSTs: {rounds} rounds, {created} complaints filed "
          f"(one per round expected); burst wall time {spread(walls)}")


def _reference(record: Any) -> str:
    """The platform reference a reply answers: each reply is a CloudEvent (structured mode)."""
    event = from_structured(KafkaMessage(headers=dict(record.headers or []), key=record.key, value=record.value))
    data: dict[str, Any] = event.get_data() or {}
    return str(data.get("platform_reference", ""))


async def commands(bootstrap: str, topics: TopicSettings, count: int) -> None:
    """FileComplaint commands sent at once; time until every reply is on the reply topic."""
    run = new_id()[:6]
    consumer = AIOKafkaConsumer(topics.intake_replies, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="latest", enable_auto_commit=False)
    await consumer.start()
    await consumer.getmany(timeout_ms=1000)  # join the partitions before sending
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    began = time.perf_counter()
    for i in range(count):
        command = FileComplaint(platform_reference=f"{run}-{i}", complaint=complaint(f"CMD-{run}-{i:06d}"))
        await producer.send(topics.intake_commands, command.encode(), key=command.platform_reference.encode())
    await producer.flush()
    seen: set[str] = set()
    while len(seen) < count and time.perf_counter() - began < 300:
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            seen.update(ref for r in batch if (ref := _reference(r)).startswith(run))
    elapsed = time.perf_counter() - began
    await producer.stop()
    await consumer.stop()
    print(f"Kafka commands: {len(seen)}/{count} answered in {elapsed:.1f} s = {len(seen) / elapsed:.0f}/s "
          f"(command sent to reply read)")


def main() -> None:
    """Start the stack and intake, run the three measurements, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--filings", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--commands", type=int, default=300)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    kafka, bootstrap = embedded.start_kafka(log_dir=workdir)
    mongo, uri = embedded.start_mongodb(data_dir=workdir / "db", log_dir=workdir)
    try:
        topics = TopicSettings(prefix="bench.")
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(), partitions=4))
        env = supervisor.service_env(base={}, bootstrap=bootstrap, mongodb_uri=uri,
                                     extra={"COMPLAINTS_TOPIC_PREFIX": "bench.", "COMPLAINTS_LOG_LEVEL": "WARNING"})
        intake = supervisor.start_service(name="intake", port=embedded.free_port(), env=env, log_dir=workdir)
        try:
            supervisor.wait_ready([intake], timeout=90)
            token = mint_token(secret=ServiceSettings().auth_secret, subject="bench", role="partner",
                               platform="kameng-example")
            headers = {"Authorization": f"Bearer {token}"}
            asyncio.run(filings(intake.url, headers, args.filings, args.concurrency))
            asyncio.run(bursts(intake.url, headers, args.bursts))
            asyncio.run(commands(bootstrap, topics, args.commands))
        finally:
            supervisor.stop_all([intake.child])
    finally:
        mongo.stop()
        kafka.stop()


if __name__ == "__main__":
    main()
