"""Relevance: does each item's structured data point at the complaint's own order?"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from .kinds import (
    CommunicationLogFields,
    Currency,
    DeliveryRecordFields,
    EvidenceFields,
    OrderRecordFields,
    PaymentProofFields,
    PoliceReceiptFields,
    ProblemProofFields,
    UtcTime,
)
from .money import format_amount

DEFAULT_WINDOW = timedelta(days=1)


class ComplaintOrder(BaseModel):
    """The order a complaint is about, as the complaint states it."""

    model_config = ConfigDict(frozen=True)

    order_number: str
    amount_minor: int
    currency: Currency
    ordered_at: UtcTime
    paid_at: UtcTime | None = None
    transaction_id: str | None = None
    card_key_last4s: list[str] = Field(default_factory=list)


class Mismatch(BaseModel):
    """One field of an item that does not fit the complaint's order."""

    model_config = ConfigDict(frozen=True)

    field: str
    expected: str
    found: str
    message: str
    message_zh: str


def _norm(value: str) -> str:
    return "".join(value.split()).upper()


def _same_text(out: list[Mismatch], field: str, expected: str | None, found: str | None,
               zh: str) -> None:
    if expected and found and _norm(expected) != _norm(found):
        out.append(Mismatch(field=field, expected=expected, found=found,
                            message=f"{field} {found} is not the complaint's {expected}",
                            message_zh=f"{zh}“{found}”与投诉中的“{expected}”不一致"))


def _money(out: list[Mismatch], order: ComplaintOrder, amount: int | None,
           currency: str | None) -> None:
    if amount is None or currency is None:
        return
    if (amount, currency) != (order.amount_minor, order.currency):
        want = format_amount(amount_minor=order.amount_minor, currency=order.currency)
        got = format_amount(amount_minor=amount, currency=currency)
        field = "currency" if currency != order.currency else "amount_minor"
        out.append(Mismatch(field=field, expected=want, found=got,
                            message=f"amount {got} is not the order's {want}",
                            message_zh=f"金额 {got} 与订单金额 {want} 不一致"))


def _near(out: list[Mismatch], field: str, anchor: datetime | None, found: datetime | None,
          window: timedelta, zh: str) -> None:
    if anchor is None or found is None or abs(found - anchor) <= window:
        return
    hours = f"{window.total_seconds() / 3600:g}"
    out.append(Mismatch(field=field, expected=f"{anchor:%Y-%m-%d %H:%M} UTC ± {hours} h",
                        found=f"{found:%Y-%m-%d %H:%M} UTC",
                        message=f"{field} is more than {hours} h away from the order's time",
                        message_zh=f"{zh}与订单时间相差超过 {hours} 小时"))


def check_relevance(*, fields: EvidenceFields | None, order: ComplaintOrder,
                    window: timedelta = DEFAULT_WINDOW) -> list[Mismatch]:
    """List every mismatch between an item's fields and the complaint's order."""
    out: list[Mismatch] = []
    if isinstance(fields, PaymentProofFields):
        _same_text(out, "order_number", order.order_number, fields.order_number, "订单号")
        _same_text(out, "transaction_id", order.transaction_id, fields.transaction_id, "交易号")
        _money(out, order, fields.amount_minor, fields.currency)
        _near(out, "paid_at", order.paid_at or order.ordered_at, fields.paid_at, window,
              "支付时间")
    elif isinstance(fields, OrderRecordFields):
        _same_text(out, "order_number", order.order_number, fields.order_number, "订单号")
        _money(out, order, fields.amount_minor, fields.currency)
        _near(out, "ordered_at", order.ordered_at, fields.ordered_at, window, "下单时间")
    elif isinstance(fields, ProblemProofFields):
        if fields.card_key_last4 and order.card_key_last4s and _norm(fields.card_key_last4) \
                not in {_norm(k) for k in order.card_key_last4s}:
            out.append(Mismatch(field="card_key_last4", expected=", ".join(order.card_key_last4s),
                                found=fields.card_key_last4,
                                message="the card key is not one delivered for this order",
                                message_zh="该卡密不是本订单发放的卡密"))
        _before(out, "observed_at", order.ordered_at - window, fields.observed_at, "发现时间")
    elif isinstance(fields, CommunicationLogFields):
        _before(out, "contacted_at", order.ordered_at - window, fields.contacted_at, "联系时间")
    elif isinstance(fields, DeliveryRecordFields):
        # A delivery record must name this very order; it may come late, never before the order.
        _same_text(out, "order_number", order.order_number, fields.order_number, "订单号")
        _before(out, "delivered_at", order.ordered_at - window, fields.delivered_at, "发货时间")
    elif isinstance(fields, PoliceReceiptFields):
        _before(out, "reported_at", order.ordered_at - window, fields.reported_at, "报案时间")
    return out


def _before(out: list[Mismatch], field: str, earliest: datetime, found: datetime | None,
            zh: str) -> None:
    # A problem or a contact cannot concern an order placed more than a window later.
    if found is not None and found < earliest:
        out.append(Mismatch(field=field, expected=f"after {earliest:%Y-%m-%d %H:%M} UTC",
                            found=f"{found:%Y-%m-%d %H:%M} UTC",
                            message=f"{field} is before the order was placed",
                            message_zh=f"{zh}早于下单时间"))
