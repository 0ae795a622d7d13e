"""The merchant's burden and the outside parties' word: police receipts, delivery records and
licence sources, the issuer's "used", the channel's own record as its notice, the debit it confirms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.contracts.evidence import PaymentRecordPublished
from shared.envelope import new_id
from tests.support.card_issuer import RunningIssuer, run_issuer
from tests.support.evidence_harness import (
    MERCHANT,
    events_until,
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

DATA = Path(__file__).parents[1] / "data" / "evidence"
FULL_KEY = "WXYZ-1234-ABCD-9K8J"
PAID = {"channel": "alipay", "notice_type": "payment_page", "amount_minor": 10000,
        "currency": "CNY", "paid_at": "2026-11-23T01:00:00Z"}
ORDER = {"order_number": "202611230001", "status": "success", "item": "100元游戏点卡",
         "ordered_at": "2026-11-23T01:00:00Z"}
FAILED_ORDER = ORDER | {"status": "failed"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[RunningIssuer]:
    with run_issuer(keys={FULL_KEY: "used"}) as running:
        yield running


@pytest.fixture(scope="module")
def client(servers: Servers, namespace: str, service_env: dict[str, str],
           issuer: RunningIssuer) -> Iterator[TestClient]:
    with running_evidence(servers=servers, namespace=namespace, service_env=service_env,
                          card_key_issuer_url=issuer.url, card_key_backoff_s=0.05) as running:
        yield running


def _data(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _tx() -> str:
    return f"2026112322{new_id()[:16]}"


def _shop(client: TestClient, merchant_id: str = MERCHANT) -> dict[str, str]:
    return token(client, role="merchant", subject="shop-staff", merchant_id=merchant_id)


def _assessment(client: TestClient, ticket: str,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer = client.get(f"/v1/complaints/{ticket}/evidence/assessment",
                        headers=headers or token(client))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _codes(pieces: list[dict[str, Any]]) -> list[str]:
    return [p["code"] for p in pieces]


def _record(transaction_id: str, *, status: str = "paid", amount_minor: int = 10000,
            order_number: str = "202611230001") -> dict[str, Any]:
    return {"source": "alipay", "transaction_id": transaction_id, "order_number": order_number,
            "amount": {"amount_minor": amount_minor, "currency": "CNY"}, "status": status,
            "at": "2026-11-23T01:00:05Z"}


def _post_record(client: TestClient, record: dict[str, Any]) -> None:
    answer = client.post("/v1/payment-records", json=record,
                         headers=token(client, role="partner", subject="alipay-gateway"))
    assert answer.status_code == 202, answer.text


def _publish_record(client: TestClient, record: dict[str, Any]) -> PaymentRecordPublished:
    message = PaymentRecordPublished.model_validate(record)
    publish(client, topic=topics_of(client).payment_records, message=message)
    return message


def _events_up_to_a_new_item(client: TestClient, ticket: str, seed: int) -> list[dict[str, Any]]:
    """The ticket's events up to one for an item uploaded now: all that came before it."""
    made = upload(client, ticket, content=image_bytes(seed=seed), kind="other")
    assert made.status_code == 201, made.text
    return events_until(client, ticket=ticket, until=lambda e: e["type"] == "EvidenceSubmitted"
                        and e["evidence_id"] == made.json()["evidence_id"])


def _debits(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "PaymentDebitConfirmed"]


def test_the_channels_own_record_counts_as_its_notice_once_it_arrives(
        client: TestClient) -> None:
    tx = _tx()
    ticket = file_complaint(client, category="charged-no-order", transaction_id=tx).ticket
    upload(client, ticket, content=image_bytes(seed=101), kind="payment_proof", fields=PAID)
    upload(client, ticket, content=image_bytes(seed=102), kind="order_record",
           fields=FAILED_ORDER)
    before = _assessment(client, ticket)
    assert (before["score"], _codes(before["missing"])) == (67, ["channel_notice"])
    _post_record(client, _record(tx))
    verdict = _assessment(client, ticket)
    assert (verdict["score"], verdict["missing"]) == (100, [])
    said = [f for f in verdict["findings"] if f["code"] == "channel_record_paid"]
    assert tx in said[0]["en"] and "已扣款" in said[0]["zh"]
    event = read_event(client, match=lambda e: e["type"] == "EvidenceAssessed"
                       and e["ticket"] == ticket and e["completeness_score"] == 100)
    assert event["missing"] == []
    assert "channel:channel_record_paid" in event["findings"]


def test_a_paid_record_of_the_complaints_order_confirms_the_debit_once(
        client: TestClient) -> None:
    tx = _tx()
    filed = file_complaint(client, category="charged-no-order", transaction_id=tx)
    _publish_record(client, _record(tx))
    again = _publish_record(client, _record(tx))  # the channel sends it again
    wait_until(lambda: (store(client)["payment_records"].find_one({"transaction_id": tx}) or {})
               .get("event_id") == again.event_id, timeout=30, what="both records applied")
    _post_record(client, _record(tx))  # and the partner posts it too
    debits = _debits(_events_up_to_a_new_item(client, filed.ticket, seed=103))
    assert len(debits) == 1
    assert {k: debits[0][k] for k in ("complaint_id", "transaction_id", "amount", "source",
                                      "record_status")} == {
        "complaint_id": filed.complaint_id, "transaction_id": tx,
        "amount": {"amount_minor": 10000, "currency": "CNY"}, "source": "alipay",
        "record_status": "paid"}


def test_a_record_that_arrived_before_the_complaint_counts_when_its_file_opens(
        client: TestClient) -> None:
    tx = _tx()
    _post_record(client, _record(tx))
    filed = file_complaint(client, category="charged-no-order", transaction_id=tx)
    debit = read_event(client, match=lambda e: e["type"] == "PaymentDebitConfirmed"
                       and e["ticket"] == filed.ticket)
    assert (debit["transaction_id"], debit["record_status"]) == (tx, "paid")
    verdict = _assessment(client, filed.ticket)  # nothing uploaded: the channel's word alone
    assert _codes(verdict["missing"]) == ["order_record"]
    assert len(_debits(_events_up_to_a_new_item(client, filed.ticket, seed=104))) == 1


def test_a_failed_or_other_payment_is_no_debit_and_no_notice(client: TestClient) -> None:
    failed = _tx()
    _post_record(client, _record(failed, status="failed"))
    filed = file_complaint(client, category="charged-no-order", transaction_id=failed)
    own = f"FK{new_id()[:10]}"  # no transaction id: order number and amount must both match
    bare = file_complaint(client, category="charged-no-order", transaction_id=None,
                          order_number=own)
    _post_record(client, _record(_tx(), order_number=own, amount_minor=9900))
    for ticket in (filed.ticket, bare.ticket):
        assert _debits(_events_up_to_a_new_item(client, ticket, seed=105)) == []
        assert "channel_notice" in _codes(_assessment(client, ticket)["missing"])
    assert "channel_record_failed" in [f["code"] for f in
                                       _assessment(client, filed.ticket)["findings"]]
    _post_record(client, _record(_tx(), order_number=own))
    assert _debits(_events_up_to_a_new_item(client, bare.ticket, seed=106))[0]["amount"] == {
        "amount_minor": 10000, "currency": "CNY"}
    assert "channel_notice" not in _codes(_assessment(client, bare.ticket)["missing"])


def test_a_police_receipt_is_kept_with_its_fields_for_fraud_and_data_leaks(
        client: TestClient) -> None:
    ticket = file_complaint(client, category="unauthorized-charge").ticket
    receipt = _data("police_receipt")
    made = upload(client, ticket, content=image_bytes(seed=110), kind="police_receipt",
                  fields=receipt)
    assert made.status_code == 201, made.text
    assert made.json()["fields"] == receipt
    verdict = _assessment(client, ticket)
    assert _codes(verdict["missing"]) == ["unknown_transaction", "freeze_report"]
    assert "police_receipt" not in _codes(verdict["recommended"])
    leak = file_complaint(client, category="data-leak").ticket
    upload(client, leak, content=image_bytes(seed=111), kind="problem_proof",
           fields={"subtype": "login_alert"})
    advised = _assessment(client, leak)
    assert "police_receipt" in _codes(advised["recommended"])
    assert "96110" in advised["guidance_zh"] and "报案回执" in advised["guidance_zh"]
    unnumbered = {k: v for k, v in receipt.items() if k != "receipt_number"}
    refused = upload(client, leak, content=image_bytes(seed=112), kind="police_receipt",
                     fields=unnumbered)
    assert refused.status_code == 422
    assert [(p["field"], p["rule"]) for p in refused.json()["errors"]] == [
        ("receipt_number", "missing")]
    by_shop = upload(client, leak, content=image_bytes(seed=113), kind="police_receipt",
                     fields=receipt, headers=_shop(client))
    assert by_shop.status_code == 403


def test_a_merchant_proves_delivery_and_licence_source_and_reads_its_side(
        client: TestClient) -> None:
    ticket = file_complaint(client, item="Windows 11 专业版激活码",
                            description="激活时提示该密钥已被使用。").ticket
    upload(client, ticket, content=image_bytes(seed=120), kind="order_record", fields=ORDER)
    upload(client, ticket, content=image_bytes(seed=121), kind="payment_proof", fields=PAID)
    side = _assessment(client, ticket, headers=_shop(client))
    assert "score" not in side and "missing" not in side and side["items"] == []
    assert side["merchant"]["burden_met"] is False
    assert _codes(side["merchant"]["missing"]) == ["delivery_record", "licence_source"]
    assert "商家须证明已发货" in side["merchant"]["guidance_zh"]
    delivered = upload(client, ticket, content=image_bytes(seed=122), kind="delivery_record",
                       fields=_data("delivery_record"), headers=_shop(client))
    licence = upload(client, ticket, content=image_bytes(seed=123), kind="licence_source",
                     fields=_data("licence_source"), headers=_shop(client))
    assert (delivered.status_code, licence.status_code) == (201, 201), licence.text
    side = _assessment(client, ticket, headers=_shop(client))
    assert side["merchant"]["burden_met"] is True and side["merchant"]["missing"] == []
    assert [(p["code"], p["evidence"]) for p in side["merchant"]["proven"]] == [
        ("delivery_record", [3]), ("licence_source", [4])]
    assert [i["number"] for i in side["items"]] == [3, 4]
    whole = _assessment(client, ticket, headers=token(client, role="agent", subject="agent-3"))
    assert whole["merchant"]["burden_met"] is True and "score" in whole
    event = read_event(client, match=lambda e: e["type"] == "EvidenceAssessed"
                       and e["ticket"] == ticket and e["merchant_burden_met"] is True)
    assert event["merchant_missing"] == []
    other_shop = _shop(client, merchant_id="m-9999")
    assert client.get(f"/v1/complaints/{ticket}/evidence/assessment",
                      headers=other_shop).status_code == 404


def test_a_delivery_record_of_another_order_proves_nothing(client: TestClient) -> None:
    ticket = file_complaint(client, category="not-delivered").ticket
    side = _assessment(client, ticket, headers=_shop(client))["merchant"]  # nothing uploaded yet
    assert (side["burden_met"], _codes(side["missing"])) == (False, ["delivery_record"])
    elsewhere = _data("delivery_record") | {"order_number": "202611239999"}
    upload(client, ticket, content=image_bytes(seed=130), kind="delivery_record",
           fields=elsewhere, headers=_shop(client))
    side = _assessment(client, ticket, headers=_shop(client))["merchant"]
    assert side["burden_met"] is False
    assert _codes(side["missing"]) == ["delivery_record"]  # a game card: no licence source
    items = _assessment(client, ticket, headers=_shop(client))["items"]
    assert [m["field"] for m in items[0]["mismatches"]] == ["order_number"]


def test_a_key_the_issuer_reports_used_counts_as_the_failure_prompt(
        client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    upload(client, ticket, content=image_bytes(seed=140), kind="order_record", fields=ORDER)
    upload(client, ticket, content=image_bytes(seed=141), kind="payment_proof", fields=PAID)
    shot = upload(client, ticket, content=image_bytes(seed=142), kind="problem_proof",
                  fields={"subtype": "key_screenshot", "card_key_last4": "9K8J"})
    before = _assessment(client, ticket)
    assert _codes(before["missing"]) == ["key_failure_prompt"]
    checked = client.post(
        f"/v1/complaints/{ticket}/evidence/{shot.json()['evidence_id']}/card-key-check",
        headers=token(client), json={"card_key": FULL_KEY, "issuer_ref": "jd-card"})
    assert checked.json()["status"] == "used", checked.text
    verdict = _assessment(client, ticket)
    assert (verdict["score"], verdict["missing"]) == (100, [])
    used = [f for f in verdict["findings"] if f["code"] == "card_key_used"]
    assert used[0]["evidence"] == 3 and "****9K8J" in used[0]["en"]
    event = read_event(client, match=lambda e: e["type"] == "EvidenceAssessed"
                       and e["ticket"] == ticket and e["completeness_score"] == 100)
    assert "证据3:card_key_used" in event["findings"]
    assert FULL_KEY not in json.dumps(event)
