"""Evidence upload: MB/s and the service's peak RSS for a 20 MB file, next to raw GridFS + SHA-256.

Starts the embedded broker and store and the evidence service as its own process, feeds it a
complaint over Kafka, uploads through POST /v1/complaints/{ticket}/evidence, and in the same
run writes the same bytes straight into GridFS while hashing them, and hashes them alone.
Run: .venv/bin/python -m bench.evidence_upload [--mb 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from gridfs import GridFSBucket
from pymongo import MongoClient

from shared.auth import mint_token
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared.envelope import new_id
from shared.money import Money
from shared.runtime import embedded, supervisor
from shared.settings import ServiceSettings
from shared.topics import TopicSettings

OUT = Path(__file__).resolve().parent / "out"
CHUNK = 64 * 1024
MB = 1024 * 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _payload(size: int) -> bytes:
    # A PNG signature in front of random bytes: an allowed type that neither compresses nor dedups.
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


async def _file(bootstrap: str, topic: str) -> ComplaintFiled:
    event = ComplaintFiled(
        complaint_id=new_id(), ticket=f"CP-BENCH-{new_id()[:8]}", platform="kamen-1",
        merchant=Party(id="m-1001", name="bench"), complainant=Complainant(id="u-bench"),
        category="invalid-card-key",
        order=OrderSummary(order_number="202611230001", amount=Money(amount_minor=10000,
                                                                     currency="CNY")),
        demand={"type": "refund", "mode": "full"}, filed_at=datetime.now(UTC))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, event.encode(), key=event.key().encode())
    finally:
        await producer.stop()
    return event


def _wait_file(url: str, ticket: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/v1/complaints/{ticket}/evidence-file", headers=headers,
                     timeout=5).status_code == 200:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the evidence file of {ticket} did not open")


def _upload(url: str, ticket: str, headers: dict[str, str], data: bytes) -> float:
    started = time.perf_counter()
    answer = httpx.post(f"{url}/v1/complaints/{ticket}/evidence", headers=headers, timeout=300,
                        files={"file": ("bench.png", data, "image/png")},
                        data={"kind": "other", "fields": "{}"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def _raw(uri: str, db: str, data: bytes) -> tuple[float, float]:
    bucket = GridFSBucket(MongoClient(uri)[db])
    started = time.perf_counter()
    sha = hashlib.sha256()
    grid_in = bucket.open_upload_stream("raw.png")
    for offset in range(0, len(data), CHUNK):
        piece = data[offset:offset + CHUNK]
        sha.update(piece)
        grid_in.write(piece)
    grid_in.close()
    gridfs_s = time.perf_counter() - started
    started = time.perf_counter()
    hashlib.sha256(data).hexdigest()
    return gridfs_s, time.perf_counter() - started


def main() -> None:
    """Run the bench and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=20, help="file size in MiB (limit is 20)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * MB
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        work = Path(tmp)
        kafka, bootstrap = embedded.start_kafka(log_dir=work)
        store, uri = embedded.start_mongodb(data_dir=work / "db", log_dir=work)
        topics = TopicSettings(prefix="bench.")
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(),
                                           partitions=topics.partitions))
        env = supervisor.service_env(base=supervisor.base_environment(), bootstrap=bootstrap,
                                     mongodb_uri=uri, extra={
                                         "COMPLAINTS_TOPIC_PREFIX": "bench.",
                                         "EVIDENCE_MONGODB_DB": "bench_evidence",
                                         "COMPLAINTS_LOG_LEVEL": "WARNING"})
        service = supervisor.start_service(name="evidence", port=embedded.free_port(), env=env,
                                           log_dir=work)
        try:
            supervisor.wait_ready([service], timeout=90)
            pid = service.child.process.pid
            secret = ServiceSettings().auth_secret
            headers = {"Authorization": "Bearer " + mint_token(
                secret=secret, subject="u-bench", role="complainant", platform="kamen-1")}
            rss_before = _status_kb(pid, "VmRSS")
            rows: list[dict[str, Any]] = []
            for run in range(args.runs):
                data = _payload(size)
                filed = asyncio.run(_file(bootstrap, topics.intake_events))
                _wait_file(service.url, filed.ticket, headers)
                upload_s = _upload(service.url, filed.ticket, headers, data)
                gridfs_s, hash_s = _raw(uri, "bench_raw", data)
                rows.append({"run": run + 1, "upload_mb_s": round(args.mb / upload_s, 1),
                             "raw_gridfs_and_hash_mb_s": round(args.mb / gridfs_s, 1),
                             "hash_only_mb_s": round(args.mb / hash_s, 1)})
                print(json.dumps(rows[-1]), file=sys.stderr)
            peak_kb = _status_kb(pid, "VmHWM")
        finally:
            supervisor.stop_all([service.child, store, kafka])
    result = {"file_mb": args.mb, "runs": rows,
              "service_rss_before_mb": round(rss_before / 1024, 1),
              "service_peak_rss_mb": round(peak_kb / 1024, 1),
              "best_upload_mb_s": max(r["upload_mb_s"] for r in rows),
              "best_raw_gridfs_and_hash_mb_s": max(r["raw_gridfs_and_hash_mb_s"] for r in rows)}
    OUT.mkdir(exist_ok=True)
    (OUT / "evidence_upload.json").write_text(json.dumps(result, indent=2))
    print(f"{args.mb} MB upload through HTTP: best {result['best_upload_mb_s']} MB/s; "
          f"raw GridFS write + SHA-256: best {result['best_raw_gridfs_and_hash_mb_s']} MB/s; "
          f"SHA-256 alone: {max(r['hash_only_mb_s'] for r in rows)} MB/s")
    print(f"evidence service RSS: {result['service_rss_before_mb']} MB before, peak "
          f"{result['service_peak_rss_mb']} MB (VmHWM)")
    print(f"written to {OUT / 'evidence_upload.json'}")


if __name__ == "__main__":
    main()
