"""Webhook deliveries per second through notify, next to raw HTTP POSTs (httpx and aiohttp) to the same receiver.

Run: .venv/bin/python -m bench.notify_webhooks [--count 2000] [--instances 2] [--per-endpoint N] [--concurrency 32]
[--metrics 1]
(--metrics N scrapes notify's /metrics every N seconds while it delivers: bench.metrics_watch; --instances N
runs N notify processes in one consumer group, the topics' 4 partitions spread over them, two by default
as `complaints up` runs them; --per-endpoint is each one's webhook cap, by default as `complaints up` sets
it: 4 POSTs in flight to the endpoint in all.)
Starts its own broker and stores (notify's and the span store, as `complaints up` does; or uses
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), a receiver process and a notify process; prints the figures
(with each process's CPU per delivery end to end) and writes bench/out/notify_webhooks.json. Nothing is asserted.
Raw httpx at notify's concurrency (what notify holds in flight to the endpoint in all: --per-endpoint
times --instances) is measured three times (before notify's runs and twice after, the stack quiet
again) and the ratio taken against the median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from bench.harness import CpuMeter
from bench.metrics_watch import MetricsWatch
from services.notify.config import NotifySettings
from shared.auth import mint_token
from shared.contracts.complaints import ComplaintFiled
from shared.envelope import new_id
from shared.runtime import embedded, supervisor
from shared.topics import TopicSettings

OUT = Path(__file__).resolve().parent / "out"
console = Console(stderr=True)


def receiver_app() -> Any:
    """A bare ASGI endpoint: POST answers 204 and counts (and its distinct webhook-ids), GET /count tells."""
    state = {"count": 0, "first": 0.0, "last": 0.0, "ids": 0, "repeated_ids": 0}
    ids: set[bytes] = set()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "POST":
            more = True
            while more:
                more = (await receive()).get("more_body", False)
            webhook_id = next((value for name, value in scope["headers"] if name == b"webhook-id"), None)
            if webhook_id is not None:
                state["repeated_ids" if webhook_id in ids else "ids"] += 1
                ids.add(webhook_id)
            now = time.time()
            state["first"] = state["first"] or now
            state["count"] += 1
            state["last"] = now
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps(state).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


async def raw_posts(*, url: str, count: int, concurrency: int, body: bytes) -> float:
    """POST the same body count times at this concurrency with httpx; returns requests per second."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one() -> None:
            async with gate:
                (await client.post(url, content=body, headers={"content-type": "application/json"})).raise_for_status()

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - began)


async def raw_aiohttp_posts(*, url: str, count: int, concurrency: int, body: bytes) -> float:
    """The same POSTs with aiohttp (the client notify's sender uses); returns requests per second."""
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
        async def one() -> None:
            async with gate, session.post(url, data=body, headers={"content-type": "application/json"}) as answer:
                answer.raise_for_status()
                await answer.read()

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - began)


def quiet(*, limit_pct: float = 10.0, timeout_s: float = 20.0) -> float:
    """Wait until the stack (every process but this one) uses less than `limit_pct` of one core,
    as it does before a run: what notify still does after one (its spans, its relay) is not measured
    as the receiver's. Returns the share seen last."""
    meter, deadline, busy = CpuMeter(), time.monotonic() + timeout_s, 100.0
    with console.status("waiting for the stack to go quiet …"):
        while time.monotonic() < deadline:
            time.sleep(0.5)
            busy = sum(share for role, share in meter.mark().items() if role != "load_generator")
            if busy < limit_pct:
                break
    return busy


def spread(instances: list[Any], *, topic: str, partitions: int, timeout_s: float = 60.0) -> None:
    """Wait until the notify processes share the topic's partitions, each consuming some (a process
    that joined late takes its share at the group's next rebalance): measured before that, one
    process would do all the work."""
    deadline = time.monotonic() + timeout_s
    with console.status(f"waiting for {len(instances)} notify processes to share {topic}'s partitions …"):
        while True:
            found = supervisor.consumed_partitions([one.url for one in instances], topic=topic)
            if supervisor.partitions_split(found, partitions=partitions):
                console.print(f"partitions of {topic} by notify process: {found}")
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}'s {partitions} partitions not shared by the notify processes "
                                   f"after {timeout_s:.0f}s: {found}")
            time.sleep(0.5)


def filed(platform: str) -> ComplaintFiled:
    """One filed complaint on the bench platform."""
    return ComplaintFiled(
        complaint_id=f"c-{new_id()[:12]}", ticket=f"CP-20261123-{new_id()[:6]}", platform=platform,
        merchant={"id": "m-bench"}, complainant={"id": f"u-{new_id()[:8]}", "language": "zh-CN"},
        category="invalid-card-key", demand={"type": "refund"}, filed_at=datetime.now(UTC),
        order={"order_number": "202611230001", "amount": {"amount_minor": 10000, "currency": "CNY"}})


async def _publish(*, bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for event in (filed("p-bench") for _ in range(count)):
            await producer.send(topic, event.encode(), key=event.key().encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _watch(client: httpx.AsyncClient, *, label: str, total: int, read: Any, every_s: float = 0.2) -> Any:
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        while True:
            done, state = await read()
            progress.update(task, completed=done)
            if done >= total:
                return state
            await asyncio.sleep(every_s)


async def through_notify(*, notify_url: str, receiver_url: str, bootstrap: str, topic: str, count: int,
                         secret: str) -> dict[str, Any]:
    """End to end (publish → received), then the sender alone (held intents drained after a resume)."""
    headers = {"Authorization": "Bearer " + mint_token(secret=secret, subject="bench-partner", role="partner",
                                                       platform="p-bench")}
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(f"{notify_url}/v1/subscriptions", headers=headers,
                                   json={"url": f"{receiver_url}/hook", "event_types": ["ComplaintFiled"]})
        answer.raise_for_status()
        sub = f"{notify_url}/v1/subscriptions/{answer.json()['id']}"

        async def received(base: int) -> Any:
            # Distinct webhook-ids: a delivery sent twice is one, and shows in repeated_ids instead.
            state = (await client.get(f"{receiver_url}/count")).json()
            return state["ids"] - base, state

        base = (await client.get(f"{receiver_url}/count")).json()["ids"]
        cpu = CpuMeter()
        began, started = time.time(), time.monotonic()
        await _publish(bootstrap=bootstrap, topic=topic, count=count)
        state = await _watch(client, label="end to end via notify", total=count, read=lambda: received(base))
        end_to_end = count / (state["last"] - began)
        # Each process's CPU per delivery, end to end: where the time of a delivery goes.
        seconds = time.monotonic() - started
        cpu_ms = {role: round(share / 100 * seconds * 1000 / count, 2) for role, share in cpu.mark().items()}

        (await client.post(f"{sub}/pause", headers=headers)).raise_for_status()
        held_from = time.time()
        await _publish(bootstrap=bootstrap, topic=topic, count=count)

        async def held() -> Any:
            return (await client.get(sub, headers=headers)).json()["pending_deliveries"], None

        # Counting the pending deliveries reads them all: once a second, not to slow what it measures.
        await _watch(client, label="intents recorded while paused", total=count, read=held, every_s=1.0)
        # The consumer alone (filings in, intents recorded, nothing sent): the ceiling of end to end.
        recorded = count / (time.time() - held_from)
        base = (await client.get(f"{receiver_url}/count")).json()["ids"]
        resumed = time.time()
        (await client.post(f"{sub}/resume", headers=headers)).raise_for_status()
        state = await _watch(client, label="held deliveries drained", total=count, read=lambda: received(base))
        drain = count / (state["last"] - resumed)
    return {"end_to_end_per_s": round(end_to_end, 1), "sender_only_per_s": round(drain, 1),
            "intents_recorded_per_s": round(recorded, 1), "end_to_end_cpu_ms_per_delivery": cpu_ms,
            "distinct_ids_received": state["ids"], "repeated_ids": state["repeated_ids"]}


def main() -> None:
    """Run both measurements in one go and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="deliveries per measurement")
    parser.add_argument("--per-endpoint", type=int, help="each notify process's POSTs in flight per endpoint "
                                                          "(default: as `complaints up` sets it, 4 in all)")
    parser.add_argument("--concurrency", type=int, default=32, help="raw httpx concurrency, second figure")
    parser.add_argument("--instances", type=int, default=supervisor.NOTIFY_PROCESSES, choices=range(1, 5),
                        help="notify processes (one consumer group: the 4 partitions spread over them)")
    parser.add_argument("--receiver-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--metrics", type=float, default=0.0,
                        help="scrape notify's /metrics every N seconds while it delivers and report what moved")
    args = parser.parse_args()
    args.per_endpoint = args.per_endpoint or int(supervisor.notify_share(args.instances)[
        "NOTIFY_CONCURRENCY_PER_ENDPOINT"])
    if args.receiver_port:
        import uvicorn

        uvicorn.run(receiver_app(), host="127.0.0.1", port=args.receiver_port, log_level="warning",
                    access_log=False)
        return
    workdir = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    with ExitStack() as stack:
        bootstrap, uri = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URI")
        if not bootstrap:
            kafka, bootstrap = embedded.start_kafka(log_dir=workdir)
            stack.callback(kafka.stop)
        # The embedded default's stores, as `complaints up` starts them: notify's own and the span
        # store (niced); with MONGODB_URI set, both on that one.
        stores = supervisor.one_store(uri) if uri else None
        if stores is None:
            children, stores = embedded.start_stores(names=["notify", "telemetry"], data_dir=workdir / "db",
                                                     log_dir=workdir, background=frozenset({"telemetry"}))
            for child in children:
                stack.callback(child.stop)
        prefix = f"bench{new_id()[:6]}."
        topics = TopicSettings(prefix=prefix)
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(), partitions=4))
        port = embedded.free_port()
        receiver = embedded.spawn("receiver", [sys.executable, "-m", "bench.notify_webhooks", "--receiver-port",
                                               str(port)], env=dict(os.environ), log_path=workdir / "receiver.log",
                                  cwd=Path(__file__).resolve().parents[1])
        stack.callback(receiver.stop)
        embedded.wait_for_port(host="127.0.0.1", port=port, timeout=30, child=receiver)
        receiver_url = f"http://127.0.0.1:{port}"
        env = supervisor.service_env(base=dict(os.environ), bootstrap=bootstrap, mongodb_uri=stores["notify"], extra={
            "COMPLAINTS_TOPIC_PREFIX": prefix, "NOTIFY_MONGODB_DB": f"{prefix[:-1]}_notify",
            "NOTIFY_CONSUMER_GROUP": f"{prefix}notify", "COMPLAINTS_TELEMETRY_DB": f"{prefix[:-1]}_telemetry",
            "NOTIFY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "NOTIFY_CONCURRENCY_PER_ENDPOINT": str(args.per_endpoint),
            "COMPLAINTS_LOG_LEVEL": "WARNING"})
        logs = [workdir / f"notify-{n}" for n in range(args.instances)]
        for folder in logs:
            folder.mkdir()
        instances = [supervisor.start_service(name="notify", port=embedded.free_port(), env=env, log_dir=folder,
                                              stores=stores) for folder in logs]
        stack.callback(lambda: supervisor.stop_all([one.child for one in instances]))
        notify = instances[0]  # the API the bench asks; every instance consumes and sends
        console.print(f"starting notify ({args.instances} process{'es' if args.instances > 1 else ''}) …")
        supervisor.wait_ready(instances, timeout=90)
        spread(instances, topic=topics.intake_events, partitions=4)
        body = filed("p-bench").encode()
        # What notify can have in flight to the one endpoint in all: each instance holds its own
        # per-endpoint cap. The raw runs, the ratio's base, go at the same concurrency.
        in_flight = args.per_endpoint * args.instances
        console.print(f"raw httpx POSTs at concurrency {in_flight} and {args.concurrency} …")
        # Raw httpx at notify's concurrency, the ratio's base: once before notify's runs, twice after
        # them with the stack quiet again, and the median taken. One sample moved between 820 and
        # 1,440/s within one sitting on a shared two-core machine: alone it decided the ratio.
        samples = [asyncio.run(raw_posts(url=f"{receiver_url}/hook", count=args.count,
                                         concurrency=in_flight, body=body))]
        raw_wide = asyncio.run(raw_posts(url=f"{receiver_url}/hook", count=args.count,
                                         concurrency=args.concurrency, body=body))
        console.print(f"raw aiohttp POSTs at concurrency {in_flight} …")
        raw_aiohttp = asyncio.run(raw_aiohttp_posts(url=f"{receiver_url}/hook", count=args.count,
                                                    concurrency=in_flight, body=body))
        watch = MetricsWatch({"notify": notify.url}, interval=args.metrics) if args.metrics else None
        with watch or ExitStack():
            via = asyncio.run(through_notify(notify_url=notify.url, receiver_url=receiver_url, bootstrap=bootstrap,
                                             topic=topics.intake_events, count=args.count,
                                             secret=NotifySettings().auth_secret))
        for _ in range(2):
            quiet()
            console.print(f"raw httpx POSTs at concurrency {in_flight} again …")
            samples.append(asyncio.run(raw_posts(url=f"{receiver_url}/hook", count=args.count,
                                                 concurrency=in_flight, body=body)))
        raw_same = sorted(samples)[1]
    ratio = {"end_to_end_vs_raw": round(via["end_to_end_per_s"] / raw_same, 3),
             "sender_only_vs_raw": round(via["sender_only_per_s"] / raw_same, 3),
             # Against the client notify's sender uses (aiohttp): what notify adds to a bare POST.
             "end_to_end_vs_raw_aiohttp": round(via["end_to_end_per_s"] / raw_aiohttp, 3),
             "sender_only_vs_raw_aiohttp": round(via["sender_only_per_s"] / raw_aiohttp, 3)}
    figures = {
        "count": args.count, "notify_instances": args.instances, "notify_per_endpoint_concurrency": args.per_endpoint,
        "in_flight_to_endpoint": in_flight,
        "raw_httpx_per_s_same_concurrency": round(raw_same, 1),
        "raw_httpx_per_s_same_concurrency_samples": [round(one, 1) for one in samples],
        f"raw_httpx_per_s_concurrency_{args.concurrency}": round(raw_wide, 1),
        "raw_aiohttp_per_s_same_concurrency": round(raw_aiohttp, 1),
        "notify_webhooks": via,
        **({"metrics": watch.summary()} if watch is not None else {}),
        "ratio_to_raw_same_concurrency": ratio,
        "note": "end to end: first publish to last request received (consume, intents recorded, signed POST, "
                "outcome logged, NotificationSent written); sender only: intents recorded while the "
                "subscription was paused, resume to last request received; intents recorded: publish to the "
                "last of those intents recorded (polled every second), the consumer alone",
    }
    console.print(f"raw httpx POSTs: {raw_same:.0f}/s at concurrency {in_flight} (median of "
                  f"{', '.join(f'{one:.0f}' for one in samples)}), "
                  f"{raw_wide:.0f}/s at {args.concurrency}; raw aiohttp POSTs: {raw_aiohttp:.0f}/s at "
                  f"concurrency {in_flight}")
    console.print(f"notify webhooks ({args.instances} notify process{'es' if args.instances > 1 else ''}): "
                  f"{via['end_to_end_per_s']:.0f}/s end to end (Kafka in → POST out), "
                  f"{via['sender_only_per_s']:.0f}/s sender only (recorded intents drained), "
                  f"{via['intents_recorded_per_s']:.0f}/s intents recorded while paused (consumer alone)")
    console.print(f"{via['distinct_ids_received']} distinct webhook-ids received for {2 * args.count} deliveries, "
                  f"{via['repeated_ids']} received again")
    console.print("CPU per delivery end to end (ms): " + ", ".join(
        f"{role} {ms}" for role, ms in via["end_to_end_cpu_ms_per_delivery"].items()))
    console.print(f"webhook ratio to raw httpx at concurrency {in_flight}: "
                  f"{ratio['end_to_end_vs_raw']:.2f} end to end, {ratio['sender_only_vs_raw']:.2f} sender only; "
                  f"to raw aiohttp (notify's client): {ratio['end_to_end_vs_raw_aiohttp']:.2f} end to end, "
                  f"{ratio['sender_only_vs_raw_aiohttp']:.2f} sender only")
    OUT.mkdir(exist_ok=True)
    path = OUT / "notify_webhooks.json"
    path.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
