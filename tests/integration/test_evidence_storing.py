"""Storing evidence on the real store: numbering, download, dedup, and every refusal leaves nothing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from fastapi.testclient import TestClient

from shared.contracts.complaints import ComplaintWithdrawn
from shared.contracts.escalation import ComplaintStatusChanged
from tests.support.evidence_harness import (
    MERCHANT,
    chunk_count,
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

MAX_FILE = 400_000  # above one GridFS chunk (255 KiB), so a refusal comes after chunks were written
ORDER_FIELDS = {"order_number": "202611230001", "status": "success", "item": "100元游戏点卡",
                "ordered_at": "2026-11-23T01:00:00Z"}


@pytest.fixture(scope="module")
def client(servers: Servers, namespace: str, service_env: dict[str, str]) -> Iterator[TestClient]:
    with running_evidence(servers=servers, namespace=namespace, service_env=service_env,
                          max_file_bytes=MAX_FILE, max_complaint_bytes=1_000_000,
                          orphan_sweep_interval_s=0.5) as running:
        yield running


def test_items_are_numbered_listed_and_downloaded_with_their_type(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    first, second = image_bytes(seed=1), b"[10:02] \xe5\xae\xa2\xe6\x9c\x8d: 24h\n"
    made = upload(client, ticket, content=first, kind="order_record", name="订单.png",
                  fields=ORDER_FIELDS)
    assert made.status_code == 201, made.text
    chat = upload(client, ticket, content=second, kind="communication_log", name="chat.txt",
                  fields={"contacted_at": "2026-11-23T02:00:00Z", "agent_id": "kf-07"})
    assert chat.status_code == 201, chat.text
    listed = client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client)).json()
    assert [(i["label"], i["kind"], i["mime"]) for i in listed["items"]] == [
        ("证据1", "order_record", "image/png"), ("证据2", "communication_log", "text/plain")]
    got = client.get(f"/v1/complaints/{ticket}/evidence/{made.json()['evidence_id']}/content",
                     headers=token(client, role="agent", subject="agent-1"))
    assert got.status_code == 200
    assert got.content == first
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].endswith(
        "%E8%AF%81%E6%8D%AE1-order_record.png")  # 证据1-order_record.png
    stored = store(client)["fs.files"].find_one({"filename": {"$regex": f"^{ticket}-"}})
    assert stored["filename"].endswith(".png") and "订单" not in stored["filename"]
    event = read_event(client, match=lambda e: e["type"] == "EvidenceSubmitted"
                       and e["ticket"] == ticket and e["number"] == 2)
    assert event["kind"] == "communication_log" and event["size"] == len(second)


def test_identical_content_is_linked_not_stored_twice(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    content = image_bytes(seed=2) + b"\x00" * 300_000  # two GridFS chunks
    made = upload(client, ticket, content=content, kind="order_record", fields=ORDER_FIELDS)
    chunks = chunk_count(client)
    again = upload(client, ticket, content=content, kind="other", name="copy.png")
    assert again.status_code == 200
    assert again.json()["linked"] is True
    assert again.json()["evidence_id"] == made.json()["evidence_id"]
    assert chunk_count(client) == chunks
    listed = client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client)).json()
    assert len(listed["items"]) == 1


def _refused(client: TestClient, ticket: str, status: int, field: str, rule: str,
             **kwargs: object) -> dict:
    chunks = chunk_count(client)
    answer = upload(client, ticket, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == status, answer.text
    detail = answer.json()
    assert detail["status"] == status and answer.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["rule"]) for e in detail["errors"]] == [(field, rule)]
    assert detail["detail"] and detail["detail_zh"]
    assert chunk_count(client) == chunks
    return detail


@pytest.mark.parametrize(("kwargs", "status", "field", "rule"), [
    ({"content": b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_FILE + 1), "kind": "other"},
     413, "file", "max_file_size"),
    ({"content": b"MZ\x90\x00" + os.urandom(300_000), "kind": "other", "name": "a.png"},
     415, "file", "allowed_type"),
    ({"content": b"PK\x03\x04" + b"\x00" * 2000, "kind": "other", "name": "chat.txt"},
     415, "file", "allowed_type"),
    ({"content": b"", "kind": "other", "name": "a.txt"}, 422, "file", "non_empty"),
    ({"content": b"hello", "kind": "other", "name": "../../etc/passwd"},
     422, "filename", "no_traversal_or_control"),
    ({"content": b"hello", "kind": "other", "name": "a\x07b.txt"},
     422, "filename", "no_traversal_or_control"),
    ({"content": b"hello", "kind": "screenshot"}, 422, "kind", "known_kind"),
    ({"content": b"hello", "kind": "problem_proof",
      "fields": {"subtype": "key_screenshot", "card_key_last4": "ABCD-EFGH-IJKL-MNOP"}},
     422, "card_key_last4", "card_key_last4_only"),
    ({"content": b"hello", "kind": "payment_proof", "fields": "{not json"},
     422, "fields", "json"),
], ids=["oversized", "executable", "zip-named-txt", "empty", "traversal", "control-char",
        "unknown-kind", "full-card-key", "bad-json"])
def test_bad_input_is_refused_and_nothing_is_stored(client: TestClient, kwargs: dict,
                                                   status: int, field: str, rule: str) -> None:
    ticket = file_complaint(client).ticket
    _refused(client, ticket, status, field, rule, **kwargs)
    listed = client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client)).json()
    assert listed["items"] == []


def test_the_complaint_budget_is_enforced(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    for seed in range(2):
        big = image_bytes(seed=10 + seed) + bytes([seed]) * 390_000
        assert upload(client, ticket, content=big, kind="other").status_code == 201
    last = image_bytes(seed=12) + b"\x01" * 390_000
    detail = _refused(client, ticket, 413, "file", "max_complaint_size", content=last,
                      kind="other")
    assert "1 MB" in detail["detail"] or "0.95 MB" in detail["detail"]


def test_foreign_or_unauthenticated_callers_learn_nothing(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    chunks = chunk_count(client)
    stranger = token(client, subject="u-9999")
    other_shop = token(client, role="merchant", subject="shop", merchant_id="m-other")
    for headers in (stranger, other_shop,
                    token(client, role="agent", subject="a", platform="other-platform")):
        answer = upload(client, ticket, content=b"hello", kind="other", headers=headers)
        assert answer.status_code == 404, answer.text
        assert client.get(f"/v1/complaints/{ticket}/evidence",
                          headers=headers).status_code == 404
    answer = client.post(f"/v1/complaints/{ticket}/evidence", files={"file": ("a.txt", b"x")},
                         data={"kind": "other"})
    assert answer.status_code == 401
    assert chunk_count(client) == chunks


def test_a_merchant_contests_with_its_own_kinds_and_sees_only_its_own(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    shop = token(client, role="merchant", subject="shop-staff", merchant_id=MERCHANT)
    assert upload(client, ticket, content=image_bytes(seed=20), kind="order_record",
                  fields=ORDER_FIELDS).status_code == 201
    refused = upload(client, ticket, content=image_bytes(seed=21), kind="payment_proof",
                     headers=shop, fields={})
    assert refused.status_code == 403
    assert refused.json()["rule"] == "merchant_kinds"
    mine = upload(client, ticket, content=b"shop chat export: delivered 01:02", headers=shop,
                  kind="communication_log", name="shop.txt",
                  fields={"contacted_at": "2026-11-23T01:30:00Z"})
    assert mine.status_code == 201, mine.text
    seen = client.get(f"/v1/complaints/{ticket}/evidence", headers=shop).json()["items"]
    assert [i["label"] for i in seen] == ["证据2"]
    same = upload(client, ticket, content=image_bytes(seed=20), kind="other", headers=shop)
    assert same.status_code == 200
    assert same.json() == {"number": 1, "label": "证据1", "linked": True,
                           "sha256": hashlib.sha256(image_bytes(seed=20)).hexdigest()}
    everything = client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client)).json()
    assert [i["submitted_by_role"] for i in everything["items"]] == ["complainant", "merchant"]


@pytest.mark.parametrize("how", ["withdrawn", "closed"])
def test_evidence_on_a_closed_or_withdrawn_complaint_is_refused(client: TestClient,
                                                                how: str) -> None:
    filed = file_complaint(client)
    topics = topics_of(client)
    if how == "withdrawn":
        publish(client, topic=topics.intake_events, message=ComplaintWithdrawn(
            complaint_id=filed.complaint_id, ticket=filed.ticket, reason="已解决"))
    else:
        publish(client, topic=topics.escalation_events, message=ComplaintStatusChanged(
            complaint_id=filed.complaint_id, ticket=filed.ticket, from_state="resolved",
            to_state="closed", tier="internal"))
    wait_until(lambda: client.get(f"/v1/complaints/{filed.ticket}/evidence-file",
                                  headers=token(client)).json()["status"] == how,
               timeout=30, what=f"the file to be {how}")
    detail = _refused(client, filed.ticket, 409, "ticket", "complaint_open",
                      content=image_bytes(seed=30), kind="other")
    assert ("撤回" if how == "withdrawn" else "关闭") in detail["detail_zh"]
    assert store(client)["evidence_items"].count_documents(
        {"complaint_id": filed.complaint_id}) == 0


def test_a_body_declared_far_too_large_is_refused_before_it_is_read(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    chunks = chunk_count(client)
    headers = {**token(client), "Content-Type": "multipart/form-data; boundary=x",
               "Content-Length": str(50 * 1024 * 1024)}
    answer = client.post(f"/v1/complaints/{ticket}/evidence", headers=headers,
                         content=b"--x\r\n")
    assert answer.status_code == 413
    assert answer.json()["rule"] == "max_file_size"
    assert answer.json()["detail_zh"]
    assert chunk_count(client) == chunks


def test_content_left_by_a_crashed_upload_is_swept_away(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    kept = upload(client, ticket, content=image_bytes(seed=40), kind="other").json()
    db = store(client)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    cut_short = ObjectId.from_datetime(two_hours_ago)  # chunks written, no file document
    db["fs.chunks"].insert_one({"files_id": cut_short, "n": 0, "data": b"partial"})
    unowned = ObjectId.from_datetime(two_hours_ago - timedelta(minutes=1))  # file, no item
    db["fs.files"].insert_one({"_id": unowned, "length": 4, "chunkSize": 261120,
                               "uploadDate": two_hours_ago, "filename": "x"})
    db["fs.chunks"].insert_one({"files_id": unowned, "n": 0, "data": b"data"})
    wait_until(lambda: db["fs.chunks"].count_documents(
        {"files_id": {"$in": [cut_short, unowned]}}) == 0, timeout=30, what="the sweep")
    assert db["fs.files"].count_documents({"_id": unowned}) == 0
    content = client.get(f"/v1/complaints/{ticket}/evidence/{kept['evidence_id']}/content",
                         headers=token(client))
    assert content.content == image_bytes(seed=40)


def test_the_asyncapi_document_declares_every_evidence_event(client: TestClient) -> None:
    document = json.dumps(client.get("/asyncapi.json").json())
    for name in ("EvidenceSubmitted", "EvidenceAssessed", "PaymentRecordMatched",
                 "PaymentRecordMismatched", "CardKeyChecked", "PaymentRecordPublished",
                 "PaymentDebitConfirmed"):
        assert name in document


def test_concurrent_uploads_are_numbered_without_gaps_or_repeats(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda seed: upload(client, ticket, kind="other",
                                                    content=image_bytes(seed=50 + seed)),
                                range(6)))
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert sorted(a.json()["number"] for a in answers) == [1, 2, 3, 4, 5, 6]
    listed = client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client)).json()
    assert [i["label"] for i in listed["items"]] == [f"证据{n}" for n in range(1, 7)]


def test_the_same_content_sent_at_once_is_stored_once(client: TestClient) -> None:
    ticket = file_complaint(client).ticket
    content = image_bytes(seed=60) + b"\x02" * 300_000  # two GridFS chunks
    chunks = chunk_count(client)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: upload(client, ticket, kind="other", content=content),
                                range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert {a.json()["evidence_id"] for a in answers} == {answers[0].json()["evidence_id"]}
    assert chunk_count(client) == chunks + 2
