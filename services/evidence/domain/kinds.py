"""Evidence kinds and the structured fields each kind carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from .errors import EvidenceRuleError, FieldsError, UnknownKindError, fields_error_from
from .money import check_currency


class EvidenceKind(StrEnum):
    """What a piece of evidence shows."""

    PAYMENT_PROOF = "payment_proof"
    ORDER_RECORD = "order_record"
    PROBLEM_PROOF = "problem_proof"
    COMMUNICATION_LOG = "communication_log"
    PLATFORM_RULE = "platform_rule"
    LISTING_SNAPSHOT = "listing_snapshot"
    MERCHANT_IDENTITY = "merchant_identity"
    POLICE_RECEIPT = "police_receipt"
    DELIVERY_RECORD = "delivery_record"
    LICENCE_SOURCE = "licence_source"
    OTHER = "other"


class PaymentNoticeType(StrEnum):
    """Which document of the payment channel the proof is."""

    PAYMENT_PAGE = "payment_page"
    STATEMENT = "statement"
    BANK_DEBIT = "bank_debit"
    CHANNEL_EXCEPTION_NOTICE = "channel_exception_notice"
    CHANNEL_CLOSING_NOTICE = "channel_closing_notice"


class ProblemSubtype(StrEnum):
    """What a problem proof shows."""

    KEY_FAILURE_PROMPT = "key_failure_prompt"
    KEY_SCREENSHOT = "key_screenshot"
    NOT_RECEIVED_SCREEN = "not_received_screen"
    DELIVERED_VS_ORDERED = "delivered_vs_ordered"
    ERROR_CODE = "error_code"
    BAN_NOTICE = "ban_notice"
    LOGIN_ALERT = "login_alert"
    OTHER = "other"


class OrderStatus(StrEnum):
    """The order status the platform showed."""

    NOT_FOUND = "not_found"
    PENDING = "pending"
    PAID = "paid"
    SUCCESS = "success"
    FAILED = "failed"
    CLOSED = "closed"
    REFUNDED = "refunded"


class ContactMedium(StrEnum):
    """How the complainant reached support."""

    CHAT = "chat"
    TICKET = "ticket"
    PHONE = "phone"
    EMAIL = "email"
    OTHER = "other"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _currency(value: str) -> str:
    try:
        return check_currency(code=value)
    except ValueError as exc:
        raise PydanticCustomError("currency_code", str(exc)) from exc


def _last4(value: str) -> str:
    compact = value.replace(" ", "").replace("-", "")
    if len(compact) > 4:
        raise PydanticCustomError(
            "card_key_last4_only",
            "give only the last 4 characters of the card key, never the full key")
    if len(compact) != 4 or not compact.isalnum():
        raise PydanticCustomError("card_key_last4_format", "must be exactly 4 letters or digits")
    return compact


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
Currency = Annotated[str, AfterValidator(_currency)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PaymentProofFields(_Fields):
    """A debit shown by the payment channel or the bank."""

    channel: Text
    notice_type: PaymentNoticeType
    amount_minor: int = Field(ge=1)
    currency: Currency
    paid_at: UtcTime
    transaction_id: Text | None = None
    order_number: Text | None = None


class OrderRecordFields(_Fields):
    """The platform's order page."""

    order_number: Text
    status: OrderStatus
    item: Text
    ordered_at: UtcTime
    amount_minor: int | None = Field(default=None, ge=0)
    currency: Currency | None = None

    @model_validator(mode="after")
    def _money_together(self) -> OrderRecordFields:
        if (self.amount_minor is None) != (self.currency is None):
            raise PydanticCustomError("amount_with_currency",
                                      "amount_minor and currency go together")
        return self


class ProblemProofFields(_Fields):
    """What went wrong, as the complainant saw it."""

    subtype: ProblemSubtype
    observed_at: UtcTime | None = None
    error_text: LongText | None = None
    error_code: Text | None = None
    card_key_last4: Annotated[str, AfterValidator(_last4)] | None = None


class CommunicationLogFields(_Fields):
    """One contact with support, logged with who answered and the acceptance number."""

    contacted_at: UtcTime
    medium: ContactMedium = ContactMedium.CHAT
    agent_id: Text | None = None
    ticket_number: Text | None = None
    promise: LongText | None = None


class PlatformRuleFields(_Fields):
    """The platform clause the complaint relies on or disputes."""

    clause: LongText
    source_url: Text | None = None


class ListingSnapshotFields(_Fields):
    """What the listing promised."""

    claim: LongText
    listing_url: Text | None = None
    captured_at: UtcTime | None = None


class MerchantIdentityFields(_Fields):
    """Who the merchant is, for legal steps."""

    merchant_name: Text
    registration_number: Text | None = None


class PoliceReceiptFields(_Fields):
    """The police's receipt of a fraud or data-leak report (报案回执, DOMAIN.md corrections)."""

    police_station: Text
    receipt_number: Text  # the receipt's or the case's number (回执编号/案件编号)
    reported_at: UtcTime
    case_type: Text | None = None  # e.g. 电信网络诈骗, 个人信息泄露


class DeliveryRecordFields(_Fields):
    """The merchant's record of issuing the goods (发货/卡密发放记录): when, to which account."""

    order_number: Text
    delivered_at: UtcTime
    account: Text  # the buyer account, phone or mailbox the goods were issued to
    item: Text | None = None
    quantity: int | None = Field(default=None, ge=1)
    card_key_last4: Annotated[str, AfterValidator(_last4)] | None = None


class LicenceSourceFields(_Fields):
    """Where the merchant's software licences come from (授权来源证明, seed 003/004)."""

    licensor: Text  # the rights holder or authorised distributor
    document: Text  # what the proof is, e.g. 官方授权书, 分销协议, 采购发票
    reference: Text | None = None
    product: Text | None = None
    valid_until: UtcTime | None = None


class OtherFields(_Fields):
    """Anything else, described in words."""

    description: LongText | None = None


EvidenceFields = (PaymentProofFields | OrderRecordFields | ProblemProofFields
                  | CommunicationLogFields | PlatformRuleFields | ListingSnapshotFields
                  | MerchantIdentityFields | PoliceReceiptFields | DeliveryRecordFields
                  | LicenceSourceFields | OtherFields)

FIELDS_BY_KIND: dict[EvidenceKind, type[EvidenceFields]] = {
    EvidenceKind.PAYMENT_PROOF: PaymentProofFields,
    EvidenceKind.ORDER_RECORD: OrderRecordFields,
    EvidenceKind.PROBLEM_PROOF: ProblemProofFields,
    EvidenceKind.COMMUNICATION_LOG: CommunicationLogFields,
    EvidenceKind.PLATFORM_RULE: PlatformRuleFields,
    EvidenceKind.LISTING_SNAPSHOT: ListingSnapshotFields,
    EvidenceKind.MERCHANT_IDENTITY: MerchantIdentityFields,
    EvidenceKind.POLICE_RECEIPT: PoliceReceiptFields,
    EvidenceKind.DELIVERY_RECORD: DeliveryRecordFields,
    EvidenceKind.LICENCE_SOURCE: LicenceSourceFields,
    EvidenceKind.OTHER: OtherFields,
}


@dataclass(frozen=True)
class SubmittedEvidence:
    """One item as the three tests see it: its kind and parsed fields."""

    kind: EvidenceKind
    fields: EvidenceFields | None = None
    card_key_status: str | None = None  # what the issuer said of the item's card key, if asked


def parse_kind(*, kind: str) -> EvidenceKind:
    """Return the kind or raise UnknownKindError listing the known ones."""
    try:
        return EvidenceKind(kind.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in EvidenceKind)
        raise UnknownKindError(field="kind", rule="known_kind",
                               message=f"unknown kind '{kind}'; use one of: {known}",
                               message_zh=f"未知的证据类型“{kind}”，可选：{known}") from None


def parse_fields(*, kind: str, fields: Mapping[str, Any] | None) -> EvidenceFields:
    """Validate the structured fields of a kind; raise FieldsError naming each field and rule."""
    model = FIELDS_BY_KIND[parse_kind(kind=kind)]
    if fields is not None and not isinstance(fields, Mapping):
        raise FieldsError(problems=[EvidenceRuleError(
            field="fields", rule="object", message="must be an object of named fields",
            message_zh="结构化字段必须是键值对象")])
    try:
        return model.model_validate(dict(fields or {}))
    except ValidationError as exc:
        raise fields_error_from(error=exc) from None
