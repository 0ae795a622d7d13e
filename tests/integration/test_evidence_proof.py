"""Proving evidence unaltered: custody chains, tamper detection in the store, and the dossier."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId
from fastapi.testclient import TestClient

from tests.support.evidence_harness import file_complaint, image_bytes, running_evidence, store, token, upload
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

PAYMENT = {"channel": "alipay", "notice_type": "payment_page", "amount_minor": 10000,
           "currency": "CNY", "paid_at": "2026-11-23T01:00:00Z",
           "transaction_id": "2026112322001400001", "order_number": "202611230001"}
ORDER = {"order_number": "202611230001", "status": "success", "item": "100元游戏点卡",
         "ordered_at": "2026-11-23T01:00:00Z"}


@pytest.fixture(scope="module")
def client(servers: Servers, namespace: str, service_env: dict[str, str]) -> Iterator[TestClient]:
    with running_evidence(servers=servers, namespace=namespace, service_env=service_env) as running:
        yield running


def _three_items(client: TestClient) -> tuple[str, list[dict[str, Any]], list[bytes]]:
    ticket = file_complaint(client).ticket
    contents = [image_bytes(seed=1) + b"\x00" * 300_000, image_bytes(seed=2),
                "[10:02] 客服 kf-07：24小时内补发\n".encode()]
    made = [upload(client, ticket, content=contents[0], kind="payment_proof", fields=PAYMENT),
            upload(client, ticket, content=contents[1], kind="order_record", fields=ORDER),
            upload(client, ticket, content=contents[2], kind="communication_log",
                   name="chat.txt", fields={"contacted_at": "2026-11-23T02:00:00Z"})]
    assert [m.status_code for m in made] == [201, 201, 201], [m.text for m in made]
    return ticket, [m.json() for m in made], contents


def _verify(client: TestClient, ticket: str) -> dict[str, Any]:
    answer = client.get(f"/v1/complaints/{ticket}/evidence/verify",
                        headers=token(client, role="agent", subject="agent-7"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_access_is_a_link_in_the_custody_chain(client: TestClient) -> None:
    ticket, items, _ = _three_items(client)
    client.get(f"/v1/complaints/{ticket}/evidence", headers=token(client))
    client.get(f"/v1/complaints/{ticket}/evidence/{items[0]['evidence_id']}/content",
               headers=token(client))
    assert _verify(client, ticket)["intact"] is True
    client.get(f"/v1/complaints/{ticket}/dossier", headers=token(client))
    log = list(store(client)["custody_log"].find({"item_id": items[0]["evidence_id"]})
               .sort("sequence", 1))
    assert [e["action"] for e in log] == ["uploaded", "viewed", "downloaded", "verified",
                                          "verified", "exported"]
    assert log[0]["actor"] == "complainant:u-2001"
    assert log[3]["actor"] == "agent:agent-7"
    assert all(e["prev_hash"] == p["entry_hash"] for p, e in zip(log, log[1:], strict=False))


def test_a_flipped_byte_in_a_stored_chunk_is_detected_and_named(client: TestClient) -> None:
    ticket, items, _ = _three_items(client)
    db = store(client)
    gridfs_id = db["evidence_items"].find_one({"_id": items[0]["evidence_id"]})["gridfs_id"]
    chunk = db["fs.chunks"].find_one({"files_id": ObjectId(gridfs_id), "n": 1})
    data = bytearray(chunk["data"])
    data[1000] ^= 0x01
    db["fs.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": bytes(data)}})
    report = _verify(client, ticket)
    assert report["intact"] is False
    assert report["tampered"] == ["证据1"]
    first = report["items"][0]
    assert first["file"]["problem"] == "content_changed"
    assert first["custody"]["intact"] is True
    assert "证据1" in first["findings"][0] and "hash" in first["findings"][0]
    assert [i["status"] for i in report["items"][1:]] == ["intact", "intact"]


def test_an_edited_custody_entry_is_detected_and_named(client: TestClient) -> None:
    ticket, items, _ = _three_items(client)
    db = store(client)
    db["custody_log"].update_one({"item_id": items[1]["evidence_id"], "sequence": 1},
                                 {"$set": {"actor": "complainant:someone-else"}})
    report = _verify(client, ticket)
    assert report["tampered"] == ["证据2"]
    problems = report["items"][1]["custody"]["problems"]
    assert [(p["sequence"], p["problem"]) for p in problems] == [(1, "edited")]
    assert report["items"][1]["file"]["intact"] is True


def test_entries_cut_off_the_end_are_detected(client: TestClient) -> None:
    ticket, items, _ = _three_items(client)
    _verify(client, ticket)  # adds a 'verified' entry to every chain
    db = store(client)
    db["custody_log"].delete_one({"item_id": items[2]["evidence_id"], "sequence": 2})
    report = _verify(client, ticket)
    assert report["tampered"] == ["证据3"]
    assert "head_mismatch" in {p["problem"] for p in report["items"][2]["custody"]["problems"]}


def test_stored_content_that_vanished_is_named(client: TestClient) -> None:
    ticket, items, _ = _three_items(client)
    db = store(client)
    gridfs_id = db["evidence_items"].find_one({"_id": items[2]["evidence_id"]})["gridfs_id"]
    db["fs.files"].delete_one({"_id": ObjectId(gridfs_id)})
    report = _verify(client, ticket)
    assert report["tampered"] == ["证据3"]
    assert report["items"][2]["file"]["problem"] == "missing"


def test_the_dossier_round_trips(client: TestClient) -> None:
    ticket, items, contents = _three_items(client)
    answer = client.get(f"/v1/complaints/{ticket}/dossier", headers=token(client))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["complaint"]["ticket"] == ticket
    assert [e["label"] for e in manifest["evidence"]] == ["证据1", "证据2", "证据3"]
    for packed, content in zip(manifest["files"], contents, strict=True):
        assert archive.read(packed["path"]) == content
        assert packed["sha256"] == hashlib.sha256(content).hexdigest() == packed["sha256_recorded"]
        assert packed["intact"] is True
    assert {v["status"] for v in manifest["verification"]} == {"intact"}
    for number in ("1", "2", "3"):
        assert manifest["custody"][number][-1]["action"] == "exported"
    zh = archive.read("complaint.zh-CN.txt").decode()
    en = archive.read("complaint.en.txt").decode()
    assert [line for line in zh.splitlines() if line[:2] in ("一、", "二、", "三、")] == [
        "一、事情经过", "二、证据清单", "三、诉求"]
    assert "证据1：支付凭证" in zh and "202611230001" in zh and "请退款 100.00 CNY" in zh
    assert f"ticket {ticket}" in en and f"受理编号 {ticket}" in zh
    assert "2026-11-23 09:05 (UTC+8)，我在“kamen-1”向商家“星辰卡铺”下单" in zh
    assert "卡密提示已被使用。 所购商品：100元游戏点卡" in zh
    assert "Evidence 3: Communication log" in en and "Refund 100.00 CNY." in en
    assert items[0]["sha256"][:12] in en


def test_a_merchant_cannot_export_the_dossier(client: TestClient) -> None:
    ticket, _, _ = _three_items(client)
    shop = token(client, role="merchant", subject="s", merchant_id="m-1001")
    answer = client.get(f"/v1/complaints/{ticket}/dossier", headers=shop)
    assert answer.status_code == 403
    assert answer.json()["rule"] == "complainant_or_agent"
