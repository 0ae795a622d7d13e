"""Evidence end to end: intake and evidence as processes; file, submit, confirm, export, withdraw."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.auth import mint_token
from shared.runtime.supervisor import ServiceProcess
from shared.settings import ServiceSettings
from tests.support.evidence_harness import image_bytes
from tests.support.samples import sample_complaint
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

TX = "2026112322001400001"


def _auth(subject: str, role: str) -> dict[str, str]:
    minted = mint_token(secret=ServiceSettings().auth_secret, subject=subject, role=role,
                        platform="kamen-1")
    return {"Authorization": f"Bearer {minted}"}


BUYER, PARTNER = _auth("u-2001", "complainant"), _auth("kamen-1-integration", "partner")


def _submit(url: str, ticket: str, content: bytes, kind: str, fields: dict[str, Any],
            name: str = "shot.png") -> dict[str, Any]:
    answer = httpx.post(f"{url}/v1/complaints/{ticket}/evidence", headers=BUYER, timeout=30,
                        files={"file": (name, content)},
                        data={"kind": kind, "fields": json.dumps(fields)})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_filed_complaint_collects_evidence_and_exports_a_dossier(
        suite: dict[str, ServiceProcess]) -> None:
    body = sample_complaint("complaint_invalid_key_zh.json")
    paid = datetime.fromisoformat(body["order"]["paid_at"])  # the proofs must match the order
    filed = httpx.post(f"{suite['intake'].url}/v1/complaints", json=body, headers=PARTNER,
                       timeout=10)
    assert filed.status_code == 201, filed.text
    ticket, url = filed.json()["ticket"], suite["evidence"].url
    wait_until(lambda: httpx.get(f"{url}/v1/complaints/{ticket}/evidence-file", headers=BUYER,
                                 timeout=10).status_code == 200,
               timeout=60, what="evidence to open the file of the filed complaint")
    _submit(url, ticket, image_bytes(seed=1), "order_record", {
        "order_number": "202611230001", "status": "success", "item": "100元游戏点卡",
        "ordered_at": paid.isoformat()})
    proof = _submit(url, ticket, image_bytes(seed=2), "payment_proof", {
        "channel": "alipay", "notice_type": "payment_page", "amount_minor": 10000,
        "currency": "CNY", "paid_at": paid.isoformat(), "transaction_id": TX})
    _submit(url, ticket, image_bytes(seed=3), "problem_proof", {
        "subtype": "key_failure_prompt", "error_text": "该卡密已被使用", "card_key_last4": "7Q2Z"})
    verdict = httpx.get(f"{url}/v1/complaints/{ticket}/evidence/assessment", headers=BUYER,
                        timeout=10).json()
    assert (verdict["score"], verdict["missing"]) == (100, [])
    posted = httpx.post(f"{url}/v1/payment-records", headers=PARTNER, timeout=10, json={
        "source": "alipay", "transaction_id": TX, "order_number": "202611230001",
        "amount": {"amount_minor": 10000, "currency": "CNY"}, "status": "paid",
        "at": (paid + timedelta(seconds=2)).isoformat()})
    assert posted.status_code == 202, posted.text
    listed = httpx.get(f"{url}/v1/complaints/{ticket}/evidence", headers=BUYER,
                       timeout=10).json()["items"]
    assert [i["label"] for i in listed] == ["证据1", "证据2", "证据3"]
    assert listed[1]["evidence_id"] == proof["evidence_id"]
    assert listed[1]["channel_check"]["label"] == "confirmed by channel"
    dossier = httpx.get(f"{url}/v1/complaints/{ticket}/dossier", headers=BUYER, timeout=30)
    assert dossier.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(dossier.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert [f["intact"] for f in manifest["files"]] == [True, True, True]
    assert "购买的点卡卡密提示已被使用" in archive.read("complaint.zh-CN.txt").decode()

    withdrawn = httpx.post(f"{suite['intake'].url}/v1/complaints/{ticket}/withdraw",
                           headers=BUYER, json={"reason": "商家已退款"}, timeout=10)
    assert withdrawn.status_code == 200, withdrawn.text
    wait_until(lambda: httpx.get(f"{url}/v1/complaints/{ticket}/evidence-file", headers=BUYER,
                                 timeout=10).json()["status"] == "withdrawn",
               timeout=60, what="evidence to learn of the withdrawal")
    late = httpx.post(f"{url}/v1/complaints/{ticket}/evidence", headers=BUYER, timeout=10,
                      files={"file": ("late.png", image_bytes(seed=4))},
                      data={"kind": "other", "fields": "{}"})
    assert late.status_code == 409
    assert late.json()["rule"] == "complaint_open"
