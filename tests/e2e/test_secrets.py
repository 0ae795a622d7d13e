"""Planted secrets — a full card key, a card number, a password and a phone number — never
appear in logs, spans, the public status topic or anything a merchant is shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from shared.runtime.supervisor import ServiceProcess
from shared.topics import TopicSettings
from shared.telemetry import stored_spans
from tests.support import kafka
from tests.support.intake_calls import body, token
from tests.support.suite import create_topics, running_suite
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

CARD_KEY = "KXQ9-7TPL-M2RD-88ZW"
CARD_NUMBER = "4111 1111 1111 1111"
PASSWORD = "Secr3tPassw0rd"
PHONE = "13912345678"
SECRETS = [CARD_KEY, CARD_NUMBER, CARD_NUMBER.replace(" ", ""), PASSWORD, PHONE]
TEXT = (f"卡密 {CARD_KEY} 充值提示已被使用；扣款卡号 {CARD_NUMBER}；客服让我提供登录密码: {PASSWORD}，"
        f"请打 {PHONE} 联系我")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def suite(service_env: dict[str, str], logs: Path) -> Iterator[dict[str, ServiceProcess]]:
    create_topics(env=service_env)
    with running_suite(env={**service_env, "COMPLAINTS_LOG_LEVEL": "DEBUG"}, log_dir=logs) as services:
        yield services


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_planted_secrets_never_leak(suite: dict[str, ServiceProcess], logs: Path,
                                    service_env: dict[str, str]) -> None:
    complaint = body(**{"order.number": "SECRET-0001", "description.what_happened": TEXT,
                        "complainant.contact.phone": PHONE})
    platform, merchant_id = complaint["platform"], complaint["merchant"]["id"]
    buyer = token(complaint["complainant"]["id"], "complainant", platform=platform)
    agent = token("agent-7", "agent", platform=platform)
    merchant = token("m-user", "merchant", platform=platform, merchant_id=merchant_id)
    filed = httpx.post(f"{suite['intake'].url}/v1/complaints", json=complaint, headers=buyer, timeout=10)
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    statement = httpx.post(f"{suite['intake'].url}/v1/complaints/{ticket}/statements", headers=buyer,
                           json={"text": TEXT}, timeout=10)
    assert statement.status_code in (200, 201), statement.text
    wait_until(lambda: httpx.get(f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence-file",
                                 headers=buyer, timeout=10).status_code == 200,
               timeout=60, what="the evidence file to open")
    upload = httpx.post(
        f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence", headers=buyer, timeout=20,
        files={"file": ("chat.txt", TEXT.encode(), "text/plain")},
        data={"kind": "problem_proof", "fields": json.dumps({"subtype": "key_failure_prompt",
                                                             "error_text": TEXT})})
    assert upload.status_code == 201, upload.text
    wait_until(lambda: httpx.get(f"{suite['escalation'].url}/v1/cases/{ticket}", headers=agent,
                                 timeout=10).status_code == 200, timeout=60, what="the case to open")
    acted = httpx.post(f"{suite['escalation'].url}/v1/cases/{ticket}/actions/respond", headers=agent,
                       json={"reason": TEXT}, timeout=10)
    assert acted.status_code == 200, acted.text

    def settled() -> dict[str, Any] | None:
        current = httpx.get(f"{suite['intake'].url}/v1/complaints/{ticket}", headers=agent, timeout=10).json()
        return current if current["status"] not in ("filed", "acknowledged") else None

    current = wait_until(settled, timeout=60, what="the agent's response to reach the complaint")
    topics = TopicSettings(prefix=service_env["COMPLAINTS_TOPIC_PREFIX"])
    status = asyncio.run(kafka.read_until(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"],
                                          topic=topics.public_status,
                                          match=lambda r: current["status"].encode() in r.value))
    telemetry = MongoClient(service_env["MONGODB_URI"])[service_env["COMPLAINTS_TELEMETRY_DB"]]["spans"]
    trace_id = current["trace_id"]
    wait_until(lambda: len({s["service"] for s in stored_spans(telemetry, {"trace_id": trace_id})}) == 4,
               timeout=30, what="spans of all four services")

    seen_by_merchant = [
        httpx.get(f"{suite['intake'].url}/v1/complaints/{ticket}", headers=merchant, timeout=10).text,
        httpx.get(f"{suite['intake'].url}/v1/complaints", headers=merchant, timeout=10).text,
        httpx.get(f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence", headers=merchant, timeout=10).text,
        httpx.get(f"{suite['escalation'].url}/v1/cases/{ticket}", headers=merchant, timeout=10).text,
        httpx.get(f"{suite['notify'].url}/v1/inbox", headers=merchant, timeout=10).text,
    ]
    for shown in seen_by_merchant:
        assert ticket in shown or '"items"' in shown, shown[:300]
        assert not leaks(shown), f"a merchant is shown {leaks(shown)}: {shown[:500]}"
    assert not leaks(status.value.decode()), "the public status topic carries a secret"
    spans = json.dumps(stored_spans(telemetry), default=str, ensure_ascii=False)
    assert trace_id in spans
    assert not leaks(spans), f"spans carry {leaks(spans)}"
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        assert not leaks(text), f"{log.name} carries {leaks(text)}"
    assert (logs / "intake.log").stat().st_size > 0
