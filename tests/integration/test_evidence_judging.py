"""Judging evidence: completeness guidance, relevance and authenticity flags, channel records, card keys."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi.testclient import TestClient

from services.evidence.domain.cardkeys import CardKeyVault
from shared.contracts.complaints import ComplaintUpdated
from shared.contracts.evidence import PaymentRecordPublished
from shared.money import Money
from tests.support.card_issuer import RunningIssuer, run_issuer
from tests.support.evidence_harness import (
    file_complaint,
    image_bytes,
    publish,
    read_event,
    running_evidence,
    store,
    token,
    topics_of,
    upload,
)
from tests.support.servers import Servers
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

FULL_KEY = "ABCD-EFGH-IJKL-7Q2Z"
NEW_KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()  # a rotation: the first encrypts
PAID = {"channel": "alipay", "notice_type": "payment_page", "amount_minor": 10000,
        "currency": "CNY", "paid_at": "2026-11-23T01:00:00Z"}
FAILED_ORDER = {"order_number": "202611230001", "status": "failed", "item": "100元游戏点卡",
                "ordered_at": "2026-11-23T01:00:00Z"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[RunningIssuer]:
    with run_issuer(keys={FULL_KEY: "used"}) as running:
        yield running


@pytest.fixture(scope="module")
def client(servers: Servers, namespace: str, service_env: dict[str, str],
           issuer: RunningIssuer) -> Iterator[TestClient]:
    with running_evidence(servers=servers, namespace=namespace, service_env=service_env,
                          card_key_issuer_url=issuer.url, card_key_backoff_s=0.05,
                          card_key_fernet_keys=[NEW_KEY, OLD_KEY]) as running:
        yield running


def _assessment(client: TestClient, ticket: str) -> dict:
    return client.get(f"/v1/complaints/{ticket}/evidence/assessment",
                      headers=token(client)).json()


def test_charged_no_order_without_the_channel_notice_is_incomplete(client: TestClient) -> None:
    ticket = file_complaint(client, category="charged-no-order").ticket
    upload(client, ticket, content=image_bytes(seed=1), kind="payment_proof", fields=PAID)
    upload(client, ticket, content=image_bytes(seed=2), kind="order_record", fields=FAILED_ORDER)
    verdict = _assessment(client, ticket)
    assert verdict["score"] == 67
    assert [m["code"] for m in verdict["missing"]] == ["channel_notice"]
    assert "exception or 'transaction closed' notice" in verdict["guidance_en"]
    assert "'order failed' screen" in verdict["guidance_en"]
    assert "交易关闭" in verdict["guidance_zh"]
    event = read_event(client, match=lambda e: e["type"] == "EvidenceAssessed"
                       and e["ticket"] == ticket and e["completeness_score"] == 67)
    assert event["missing"] == ["channel_notice"]
    closing = PAID | {"notice_type": "channel_closing_notice"}
    upload(client, ticket, content=image_bytes(seed=3), kind="payment_proof", fields=closing)
    assert _assessment(client, ticket)["score"] == 100


def test_items_that_do_not_fit_the_order_or_look_edited_are_flagged(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    wrong = PAID | {"amount_minor": 5000, "order_number": "202611239999"}
    upload(client, ticket, content=image_bytes(seed=4), kind="payment_proof", fields=wrong)
    edited = image_bytes(seed=5, fmt="JPEG", software="Adobe Photoshop 25.0",
                         taken=datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    made = upload(client, ticket, content=edited, kind="problem_proof", name="fail.jpg",
                  fields={"subtype": "key_failure_prompt", "error_text": "卡密已被使用"})
    assert made.status_code == 201, made.text
    verdict = _assessment(client, ticket)
    assert {"证据1:mismatch:order_number", "证据1:mismatch:amount_minor",
            "证据2:editing_software", "证据2:captured_after_filing"} <= set(verdict["flags"])
    mismatches = verdict["items"][0]["mismatches"]
    assert {m["field"] for m in mismatches} == {"order_number", "amount_minor"}
    assert "证据1与订单不符" in verdict["guidance_zh"]
    assert made.json()["mime"] == "image/jpeg"


def test_a_corrected_category_is_judged_again(client: TestClient) -> None:
    filed = file_complaint(client, category="invalid-card-key")
    upload(client, filed.ticket, content=image_bytes(seed=6), kind="payment_proof", fields=PAID)
    publish(client, topic=topics_of(client).intake_events, message=ComplaintUpdated(
        complaint_id=filed.complaint_id, ticket=filed.ticket, change="category_corrected",
        detail={"from": "invalid-card-key", "to": "charged-no-order", "by": "agent-1"}))
    verdict = wait_until(lambda: (v := _assessment(client, filed.ticket))["category"]
                         == "charged-no-order" and v, timeout=30, what="the new category")
    assert [m["code"] for m in verdict["missing"]] == ["channel_notice", "order_record"]


def _record(transaction_id: str, amount_minor: int, status: str = "paid") -> dict:
    return {"source": "alipay", "transaction_id": transaction_id,
            "order_number": "202611230001",
            "amount": {"amount_minor": amount_minor, "currency": "CNY"}, "status": status,
            "at": "2026-11-23T01:00:05Z"}


def test_a_record_published_before_the_proof_confirms_it(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    record = _record("TX-BEFORE-1", 10000)
    publish(client, topic=topics_of(client).payment_records,
            message=PaymentRecordPublished(**record | {"amount": Money(**record["amount"])}))
    wait_until(lambda: store(client)["payment_records"].find_one(
        {"transaction_id": "TX-BEFORE-1"}), timeout=30, what="the record to be stored")
    made = upload(client, ticket, content=image_bytes(seed=7), kind="payment_proof",
                  fields=PAID | {"transaction_id": "TX-BEFORE-1"})
    check = made.json()["channel_check"]
    assert check["confirmed_by_channel"] is True
    assert check["label"] == "confirmed by channel"
    event = read_event(client, match=lambda e: e["type"] == "PaymentRecordMatched"
                       and e["ticket"] == ticket)
    assert event["transaction_id"] == "TX-BEFORE-1"


def test_a_record_posted_after_the_proof_that_contradicts_it_is_flagged(
        client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    made = upload(client, ticket, content=image_bytes(seed=8), kind="payment_proof",
                  fields=PAID | {"transaction_id": "TX-AFTER-1"})
    assert made.json()["channel_check"] is None
    partner = token(client, role="partner", subject="alipay-gateway")
    answer = client.post("/v1/payment-records", headers=partner,
                         json=_record("TX-AFTER-1", 9000, status="refunded"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["proofs_checked"] == 1
    event = read_event(client, match=lambda e: e["type"] == "PaymentRecordMismatched"
                       and e["ticket"] == ticket)
    assert sorted(event["fields"]) == ["amount", "status"]
    listed = client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client)).json()
    check = listed["items"][0]["channel_check"]
    assert check["confirmed_by_channel"] is False
    assert {d["field"] for d in check["differences"]} == {"amount", "status"}
    assert "证据1:channel_mismatch:amount" in _assessment(client, ticket)["flags"]
    kept = store(client)["payment_records"].find_one({"transaction_id": "TX-AFTER-1"})
    assert kept["posted_by"]["subject"] == "alipay-gateway"
    refused = client.post("/v1/payment-records", headers=token(client),
                          json=_record("TX-AFTER-1", 10000))
    assert refused.status_code == 403


def test_a_card_key_is_checked_with_the_issuer_and_only_its_last_4_travel(
        client: TestClient, issuer: RunningIssuer, caplog: pytest.LogCaptureFixture) -> None:
    ticket = file_complaint(client).ticket
    made = upload(client, ticket, content=image_bytes(seed=9), kind="problem_proof",
                  fields={"subtype": "key_failure_prompt", "card_key_last4": "7Q2Z"})
    url = f"/v1/complaints/{ticket}/evidence/{made.json()['evidence_id']}/card-key-check"
    issuer.state.fail_next = 1  # the adapter retries a busy issuer
    with caplog.at_level(logging.DEBUG):
        answer = client.post(url, headers=token(client),
                             json={"card_key": FULL_KEY, "issuer_ref": "jd-card"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"evidence_id": made.json()["evidence_id"], "number": 1,
                             "card_key": "****7Q2Z", "key_last4": "7Q2Z", "status": "used"}
    assert issuer.state.calls >= 2
    event = read_event(client, match=lambda e: e["type"] == "CardKeyChecked"
                       and e["ticket"] == ticket)
    assert (event["key_last4"], event["status"]) == ("7Q2Z", "used")
    assert FULL_KEY not in json.dumps(event)
    assert FULL_KEY not in caplog.text
    db = store(client)
    stored = db["card_keys"].find_one({"item_id": made.json()["evidence_id"]})
    assert FULL_KEY not in json.dumps(stored, default=str)
    assert Fernet(NEW_KEY).decrypt(stored["token"]).decode() == FULL_KEY  # the first key alone opens it
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(stored["token"])  # the second only decrypts what it encrypted before
    assert CardKeyVault(fernet_keys=[OLD_KEY, NEW_KEY]).decrypt(token=stored["token"]) == FULL_KEY
    for name in ("outbox", "evidence_items", "custody_log"):
        assert FULL_KEY not in json.dumps(list(db[name].find()), default=str)


def test_a_card_key_check_refuses_bad_input_without_echoing_it(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    made = upload(client, ticket, content=image_bytes(seed=10), kind="other")
    url = f"/v1/complaints/{ticket}/evidence/{made.json()['evidence_id']}/card-key-check"
    secret = "X" * 300
    answer = client.post(url, headers=token(client), json={"card_key": secret})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "card_key"
    assert secret not in answer.text
    shop = token(client, role="merchant", subject="s", merchant_id="m-1001")
    assert client.post(url, headers=shop, json={"card_key": FULL_KEY}).status_code == 403
