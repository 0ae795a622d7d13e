"""Cross-check a payment proof against the payment record a channel published."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.money import MAX_SAFE_MINOR

from .errors import fields_error_from
from .kinds import Currency, PaymentNoticeType, PaymentProofFields, Text, UtcTime
from .money import format_amount

DEFAULT_TIME_WINDOW = timedelta(days=1)


class RecordStatus(StrEnum):
    """The state of a payment as the channel reports it."""

    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"
    CLOSED = "closed"
    REFUNDED = "refunded"


class PaymentRecord(BaseModel):
    """A payment as published by a payment channel or platform."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    channel: Text
    transaction_id: Text
    order_number: Text | None = None
    amount_minor: int = Field(ge=0, le=MAX_SAFE_MINOR)
    currency: Currency
    status: RecordStatus
    occurred_at: UtcTime


class CheckOutcome(StrEnum):
    """Whether the channel's record backs the proof."""

    CONFIRMED = "confirmed"
    MISMATCHED = "mismatched"


class FieldDifference(BaseModel):
    """One field where proof and record disagree."""

    model_config = ConfigDict(frozen=True)

    field: str
    proof: str
    record: str


class PaymentCheck(BaseModel):
    """The outcome and, when mismatched, every differing field."""

    model_config = ConfigDict(frozen=True)

    outcome: CheckOutcome
    differences: list[FieldDifference]


# What state each kind of proof claims the money is in.
_CLAIMS = {
    PaymentNoticeType.PAYMENT_PAGE: {RecordStatus.PAID},
    PaymentNoticeType.STATEMENT: {RecordStatus.PAID},
    PaymentNoticeType.BANK_DEBIT: {RecordStatus.PAID},
    PaymentNoticeType.CHANNEL_CLOSING_NOTICE: {RecordStatus.CLOSED, RecordStatus.REFUNDED},
    PaymentNoticeType.CHANNEL_EXCEPTION_NOTICE: set(RecordStatus),
}


def cross_check(*, proof: PaymentProofFields, record: PaymentRecord,
                window: timedelta = DEFAULT_TIME_WINDOW) -> PaymentCheck:
    """Compare proof and record: transaction, order, amount, currency, status and time."""
    diffs: list[FieldDifference] = []

    def differ(field: str, mine: object, theirs: object) -> None:
        diffs.append(FieldDifference(field=field, proof=str(mine), record=str(theirs)))

    if proof.transaction_id and proof.transaction_id != record.transaction_id:
        differ("transaction_id", proof.transaction_id, record.transaction_id)
    if proof.order_number and record.order_number and proof.order_number != record.order_number:
        differ("order_number", proof.order_number, record.order_number)
    if proof.amount_minor != record.amount_minor:
        differ("amount", format_amount(amount_minor=proof.amount_minor, currency=proof.currency),
               format_amount(amount_minor=record.amount_minor, currency=record.currency))
    if proof.currency != record.currency:
        differ("currency", proof.currency, record.currency)
    if record.status not in _CLAIMS[proof.notice_type]:
        claimed = "/".join(sorted(_CLAIMS[proof.notice_type]))
        differ("status", claimed, record.status.value)
    if abs(proof.paid_at - record.occurred_at) > window:
        differ("time", f"{proof.paid_at:%Y-%m-%d %H:%M} UTC",
               f"{record.occurred_at:%Y-%m-%d %H:%M} UTC")
    outcome = CheckOutcome.MISMATCHED if diffs else CheckOutcome.CONFIRMED
    return PaymentCheck(outcome=outcome, differences=diffs)


def parse_payment_record(*, data: dict) -> PaymentRecord:
    """Validate a published record; raise FieldsError naming each field and rule."""
    try:
        return PaymentRecord.model_validate(data)
    except ValidationError as exc:
        raise fields_error_from(error=exc) from None


def _norm(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def matches_order(*, record: PaymentRecord, transaction_id: str | None, order_number: str,
                  amount_minor: int, currency: str) -> bool:
    """Whether a channel's record is of the complaint's own payment: the same transaction id when
    the complaint names one, else the same order number, amount and currency."""
    if transaction_id:
        return _norm(record.transaction_id) == _norm(transaction_id)
    return (bool(record.order_number) and _norm(record.order_number) == _norm(order_number)
            and (record.amount_minor, record.currency) == (amount_minor, currency))


def payment_keys(*, transaction_id: str | None, order_number: str | None) -> list[str]:
    """The keys a payment is met by: its transaction id, and its order number (a complaint
    without a transaction id is matched by order number, so a record is met by both)."""
    keys = [f"tx:{_norm(transaction_id)}"] if transaction_id else []
    return keys + ([f"order:{_norm(order_number)}"] if order_number else [])
