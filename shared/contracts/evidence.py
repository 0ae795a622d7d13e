"""Evidence's contracts: the evidence file, submissions, assessments and channel cross-checks."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.envelope import Event, Message
from shared.money import Money


class EvidenceFileOpened(Event):
    """An evidence file was opened for a new complaint."""

    type: Literal["EvidenceFileOpened"] = "EvidenceFileOpened"
    required_kinds: list[str] = Field(default_factory=list, title="Kinds this category needs")
    missing: list[str] = Field(default_factory=list,
                               title="What the file's first assessment finds missing (codes, as EvidenceAssessed "
                                     "names them): an offer is gated on it until the evidence is assessed again")


class EvidenceSubmitted(Event):
    """An evidence item was stored (content hash, never the content)."""

    type: Literal["EvidenceSubmitted"] = "EvidenceSubmitted"
    evidence_id: str = Field(title="Evidence item id")
    number: int = Field(title="Its number in the complaint (证据N)", ge=1)
    kind: str = Field(title="Evidence kind")
    sha256: str = Field(title="SHA-256 of the stored file", pattern=r"^[0-9a-f]{64}$")
    size: int = Field(title="Bytes", ge=1)


class EvidenceAssessed(Event):
    """The evidence file was judged: authentic, relevant, complete."""

    type: Literal["EvidenceAssessed"] = "EvidenceAssessed"
    completeness_score: int = Field(title="0..100", ge=0, le=100)
    missing: list[str] = Field(default_factory=list, title="Missing requirements")
    flags: list[str] = Field(default_factory=list, title="Authenticity and relevance flags")
    findings: list[str] = Field(default_factory=list,
                                title="What the card issuer and the payment channel said, e.g. "
                                      "证据2:card_key_used, channel:channel_record_paid")
    merchant_missing: list[str] = Field(default_factory=list,
                                        title="What the merchant still lacks to prove delivery, "
                                              "e.g. delivery_record, licence_source")
    merchant_burden_met: bool | None = Field(None, title="Whether the merchant has proven "
                                                         "delivery; None when no burden applies")


class PaymentRecordPublished(Message):
    """A payment channel or platform publishes what it knows of a transaction."""

    type: Literal["PaymentRecordPublished"] = "PaymentRecordPublished"
    source: str = Field(title="Who publishes it (channel or platform id)", max_length=128)
    transaction_id: str = Field(title="The channel's transaction id", max_length=128)
    order_number: str = Field(title="Order number", max_length=64)
    amount: Money = Field(title="Amount")
    status: Literal["paid", "refunded", "closed", "failed", "pending"] = Field(title="Status")
    at: AwareDatetime = Field(title="When the status was reached (UTC)")

    def key(self) -> str:
        return self.transaction_id


class PaymentRecordMatched(Event):
    """A payment proof agrees with the channel's record."""

    type: Literal["PaymentRecordMatched"] = "PaymentRecordMatched"
    evidence_id: str = Field(title="Evidence item id")
    transaction_id: str = Field(title="Transaction id")


class PaymentRecordMismatched(Event):
    """A payment proof contradicts the channel's record."""

    type: Literal["PaymentRecordMismatched"] = "PaymentRecordMismatched"
    evidence_id: str = Field(title="Evidence item id")
    transaction_id: str = Field(title="Transaction id")
    fields: list[str] = Field(title="Fields that differ, e.g. amount, status")


class CardKeyChecked(Event):
    """The issuer was asked about a card key (only its last 4 characters travel)."""

    type: Literal["CardKeyChecked"] = "CardKeyChecked"
    evidence_id: str = Field(title="Evidence item id")
    key_last4: str = Field(title="Last 4 characters of the key", max_length=4)
    status: Literal["valid", "used", "unknown", "error"] = Field(title="Issuer's answer")


class PaymentDebitConfirmed(Event):
    """A payment channel's own record confirms the complaint's money was taken (its debit).

    For a charged-no-order complaint this is the channel notice the seeds ask for (002): the
    automatic tier may refund on it without an agent."""

    type: Literal["PaymentDebitConfirmed"] = "PaymentDebitConfirmed"
    transaction_id: str = Field(title="The channel's transaction id", max_length=128)
    amount: Money = Field(title="Amount the record shows")
    source: str = Field(title="Who published the record (channel or platform id)", max_length=128)
    record_status: str = Field(title="The record's status, e.g. paid")
