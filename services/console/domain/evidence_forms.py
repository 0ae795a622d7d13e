"""What an upload from the status page declares: the evidence kind and fields of a checklist item,
filled from the complainant's own order so that a phone photo is all they add."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def upload_declaration(*, item: str, order: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The kind and fields evidence expects for a requested item (unknown items go as `other`)."""
    amount = {"amount_minor": order.get("amount"), "currency": order.get("currency"),
              "paid_at": order.get("paid_at"), "transaction_id": order.get("transaction_id"),
              "channel": order.get("channel")}
    amount = {k: v for k, v in amount.items() if v is not None}
    if item == "channel_notice":
        return "payment_proof", {**amount, "notice_type": "channel_closing_notice"}
    if item == "payment_proof":
        return "payment_proof", {**amount, "notice_type": "payment_page"}
    if item == "order_record":
        return "order_record", {k: v for k, v in {"order_number": order.get("number"), "item": order.get("item"),
                                                   "ordered_at": order.get("paid_at")}.items() if v is not None}
    if item in ("problem_proof", "key_failure_prompt"):
        return "problem_proof", {"subtype": "key_failure_prompt"}
    if item == "communication_log":
        return "communication_log", {}
    return "other", {}
