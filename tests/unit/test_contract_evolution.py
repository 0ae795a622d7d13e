"""Contracts that evolve (issue 24): a consumer reads a v1 event carrying fields it does not know
yet and still refuses what is invalid; a producer still cannot build an event with a field its
contract lacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import shared.contracts  # noqa: F401 - registers every message type
from shared.contracts.complaints import Complainant, ComplaintFiled, ComplaintWithdrawn, OrderSummary, Party
from shared.contracts.escalation import ComplaintStatusChanged
from shared.envelope import Message, PoisonMessage, decode
from shared.money import Money

pytestmark = pytest.mark.unit


def filed() -> ComplaintFiled:
    return ComplaintFiled(
        complaint_id="c1", ticket="CP-20261123-000001", platform="kamen-1",
        merchant=Party(id="m-1001", name="星辰卡铺"), complainant=Complainant(id="u-2001", display_name="小王"),
        category="invalid-card-key",
        order=OrderSummary(order_number="202611230001", item="100元游戏点卡",
                           amount=Money(amount_minor=10000, currency="CNY"),
                           paid_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC), payment_channel="alipay"),
        demand={"type": "refund", "mode": "full"}, description="卡密提示已被使用。",
        incident_at=datetime(2026, 11, 23, 1, 5, tzinfo=UTC), filed_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))


EVENTS: list[Message] = [
    filed(),
    ComplaintWithdrawn(complaint_id="c1", ticket="CP-20261123-000001", reason="已自行解决"),
    ComplaintStatusChanged(complaint_id="c1", ticket="CP-1", from_state="filed", to_state="acknowledged",
                           tier="internal"),
]


def wire(event: Message, **extra: Any) -> dict[str, Any]:
    return {**json.loads(event.encode()), **extra}


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_a_v1_event_with_a_new_optional_field_is_read_as_it_was(event: Message) -> None:
    read = decode(json.dumps(wire(event, priority_hint="high", channel_meta={"a": 1})).encode())
    assert read == event
    assert "priority_hint" not in read.model_dump()


def test_a_new_field_inside_a_part_is_read_too() -> None:
    event = filed()
    data = wire(event)
    data["order"]["coupon_code"] = "NEW-1"
    data["merchant"]["verified"] = True
    assert decode(json.dumps(data).encode()) == event


@pytest.mark.parametrize(("change", "reason"), [
    ({"order": {"amount": "ten yuan"}}, "schema violation in ComplaintFiled"),
    ({"complaint_id": None}, "complaint_id"),
    ({"type": "ComplaintFiledV2"}, "unknown message type"),
    ({"schema_version": 2}, "unsupported schema_version 2"),
])
def test_what_is_invalid_is_still_poison_with_or_without_new_fields(change: dict[str, Any], reason: str) -> None:
    data = wire(filed(), new_field="x")
    for key, value in change.items():
        if isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    with pytest.raises(PoisonMessage, match=reason):
        decode(json.dumps(data).encode())


def test_a_missing_required_field_is_poison_even_beside_new_ones() -> None:
    data = wire(filed(), new_field="x")
    del data["category"]
    with pytest.raises(PoisonMessage, match=r"category: Field required"):
        decode(json.dumps(data).encode())


def test_a_producer_still_cannot_build_an_event_with_a_field_its_contract_lacks() -> None:
    with pytest.raises(ValueError, match="new_field"):
        ComplaintWithdrawn(complaint_id="c1", ticket="T", new_field="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="coupon_code"):
        Party(id="m", name="n", coupon_code="x")  # type: ignore[call-arg]
