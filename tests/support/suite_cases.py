"""Complaints the e2e tests file through a running suite's public API."""

from __future__ import annotations

from typing import Any

import httpx

from shared.envelope import new_id
from shared.runtime.supervisor import ServiceProcess
from tests.support.samples import sample_complaint
from tests.support.waiting import wait_until


def file_charged_no_order(suite: dict[str, ServiceProcess], *, partner: dict[str, str],
                          buyer: dict[str, str]) -> tuple[dict[str, Any], str]:
    """A charged-but-no-order complaint filed through intake by the platform (its body and ticket),
    returned once evidence has opened the complaint's file: the buyer's uploads wait for it."""
    body = sample_complaint("complaint_invalid_key_zh.json", **{
        "category": "charged-no-order", "order.transaction_id": f"2026{new_id()[:15]}",
        "order.number": f"CM{new_id()[:12]}", "description.what_happened": "支付成功但订单未生成，钱已扣"})
    filed = httpx.post(f"{suite['intake'].url}/v1/complaints", json=body, headers=partner, timeout=10)
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    wait_until(lambda: httpx.get(f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence-file", headers=buyer,
                                 timeout=10).status_code == 200, timeout=60, interval=0.3,
               what="evidence to open the complaint's file")
    return body, ticket
