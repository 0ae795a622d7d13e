"""The console's pages against the API calls each one makes, measured in the same run.

Run: .venv/bin/python -m bench.console_pages [--complaints 20] [--duration 10] [--concurrency 2]
Starts the embedded broker and stores, the four services and the console; files complaints; then
requests the queue page and a case page for `duration` s each, and the same API calls the console
makes for them, straight to the APIs (the raw stack). Prints pages/s, latencies and the ratio;
nothing is asserted. Uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI when set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import closed_loop, console, percentiles, suite_stack, write_results
from shared.auth import mint_token
from shared.envelope import new_id
from shared.runtime import embedded, supervisor
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support.samples import sample_complaint

NS = f"benchconsole{new_id()[:6]}"
QUEUES = 13  # the queue page counts every queue (6 + 7 tiers) and lists one


def _signed_in(client: httpx.Client, token: str) -> None:
    page = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"token": token, "csrf": csrf}).raise_for_status()


async def _measure(label: str, send: Any, args: argparse.Namespace) -> dict[str, Any]:
    rate, latencies = await closed_loop(label=label, send=send, concurrency=args.concurrency, duration=args.duration)
    figures = {"per_s": round(rate, 1), **percentiles(latencies)}
    console.print(f"{label}: {figures['per_s']}/s, p50 {figures.get('p50')} ms, p99 {figures.get('p99')} ms")
    return figures


async def _run(urls: dict[str, str], token: str, tickets: list[str], args: argparse.Namespace) -> dict[str, Any]:
    auth = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=urls["console"], timeout=30, follow_redirects=True) as signin:
        _signed_in(signin, token)
        cookies = dict(signin.cookies)
    async with httpx.AsyncClient(base_url=urls["console"], cookies=cookies, timeout=30) as page, \
            httpx.AsyncClient(timeout=30, headers=auth) as api:
        async def queue_page(i: int) -> None:
            (await page.get("/queues", params={"q": "all"})).raise_for_status()

        async def queue_raw(i: int) -> None:
            for _ in range(QUEUES):
                (await api.get(f"{urls['escalation']}/v1/cases", params={"limit": 1})).raise_for_status()
            (await api.get(f"{urls['escalation']}/v1/cases", params={"limit": 50})).raise_for_status()

        async def case_page(i: int) -> None:
            (await page.get(f"/cases/{tickets[i % len(tickets)]}")).raise_for_status()

        async def case_raw(i: int) -> None:
            ticket = tickets[i % len(tickets)]
            for url in (f"{urls['escalation']}/v1/cases/{ticket}", f"{urls['intake']}/v1/complaints/{ticket}",
                        f"{urls['evidence']}/v1/complaints/{ticket}/evidence",
                        f"{urls['evidence']}/v1/complaints/{ticket}/evidence/verify",
                        f"{urls['evidence']}/v1/complaints/{ticket}/evidence/assessment",
                        f"{urls['intake']}/v1/complaints/{ticket}/trace"):
                (await api.get(url)).raise_for_status()

        figures = {name: await _measure(name, send, args) for name, send in (
            ("queue page", queue_page), ("queue page's API calls (raw)", queue_raw),
            ("case page", case_page), ("case page's API calls (raw)", case_raw))}
    for what in ("queue", "case"):
        page_p50, raw_p50 = figures[f"{what} page"]["p50"], figures[f"{what} page's API calls (raw)"]["p50"]
        figures[f"{what}_p50_ratio_page_over_raw"] = round(page_p50 / raw_p50, 2)
        console.print(f"{what} page p50 / its API calls p50 = {figures[f'{what}_p50_ratio_page_over_raw']}")
    return figures


def main() -> None:
    """Start the suite and the console, file complaints, measure pages against their API calls."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--complaints", type=int, default=20)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    with suite_stack(workdir=workdir) as (bootstrap, stores):
        topics = TopicSettings(prefix=f"{NS}.")
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(),
                                           partitions=topics.partitions))
        extra = {"COMPLAINTS_TOPIC_PREFIX": f"{NS}.", "COMPLAINTS_TELEMETRY_DB": f"{NS}_telemetry",
                 "COMPLAINTS_LOG_LEVEL": os.environ.get("COMPLAINTS_LOG_LEVEL", "WARNING"),
                 **{f"{n.upper()}_MONGODB_DB": f"{NS}_{n}" for n in supervisor.SERVICES}}
        env = supervisor.service_env(base=dict(os.environ), bootstrap=bootstrap, mongodb_uri=stores["intake"],
                                     extra=extra)
        services = [supervisor.start_service(name=n, port=embedded.free_port(), env=env, log_dir=workdir,
                                             stores=stores) for n in supervisor.SERVICES]
        services.append(supervisor.start_console(port=embedded.free_port(), env=env, log_dir=workdir,
                                                 apis=list(services)))
        try:
            supervisor.wait_ready(services, timeout=120, progress=console.print)
            urls = {s.name: s.url for s in services}
            secret = ServiceSettings().auth_secret
            partner = {"authorization": "Bearer " + mint_token(secret=secret, subject="bench", role="partner",
                                                               platform="kamen-1")}
            tickets = []
            with console.status(f"filing {args.complaints} complaints…"):
                for i in range(args.complaints):
                    body = sample_complaint("complaint_invalid_key_zh.json", **{"order.number": f"BC{i:06d}"})
                    answer = httpx.post(f"{urls['intake']}/v1/complaints", json=body, headers=partner, timeout=30)
                    answer.raise_for_status()
                    tickets.append(answer.json()["ticket"])
                agent = mint_token(secret=secret, subject="agent-7", role="agent", platform="kamen-1")
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and httpx.get(
                        f"{urls['escalation']}/v1/cases", params={"limit": 1}, timeout=10,
                        headers={"authorization": f"Bearer {agent}"}).json()["total"] < len(tickets):
                    time.sleep(0.3)
            figures = asyncio.run(_run(urls, agent, tickets, args))
            write_results(name="console_pages", figures={"complaints": args.complaints, "duration_s": args.duration,
                                                         "concurrency": args.concurrency, **figures})
        finally:
            supervisor.stop_all([s.child for s in services])


if __name__ == "__main__":
    main()
