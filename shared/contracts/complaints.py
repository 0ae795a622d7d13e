"""Intake's contracts: the FileComplaint command, its replies, and the complaint events."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.envelope import Event, Message
from shared.money import Money


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Part):
    """A merchant or platform as named in a complaint."""

    id: str = Field(title="Identifier on the platform", max_length=128)
    name: str = Field("", title="Display name", max_length=200)


class Complainant(_Part):
    """Who filed; contact travels only on internal topics, never on public ones."""

    id: str = Field(title="Complainant id", max_length=128)
    display_name: str = Field("", title="Display name", max_length=200)
    phone: str | None = Field(None, title="Phone number (internal topics only)")
    email: str | None = Field(None, title="Email address (internal topics only)")
    language: Literal["zh-CN", "en"] = Field("zh-CN", title="Preferred language")


class OrderSummary(_Part):
    """The order a complaint is about."""

    order_number: str = Field(title="Order number on the platform", max_length=64)
    item: str = Field("", title="What was bought, e.g. 100 CNY game point card", max_length=200)
    amount: Money = Field(title="Amount paid")
    paid_at: AwareDatetime | None = Field(None, title="When it was paid (UTC)")
    payment_channel: str = Field("other", title="alipay, wechat, bank_card, paypal, visa, …")
    payment_transaction_id: str | None = Field(None, title="The channel's transaction id", max_length=128)
    denomination: str | None = Field(None, title="Face value or variant, e.g. 100元", max_length=64)
    quantity: int = Field(1, title="How many were bought", ge=1)


class ComplaintFiled(Event):
    """A complaint was accepted and numbered."""

    type: Literal["ComplaintFiled"] = "ComplaintFiled"
    platform: str = Field(title="Platform (marketplace) id", max_length=128)
    merchant: Party = Field(title="Merchant complained about")
    complainant: Complainant = Field(title="Who filed")
    category: str = Field(title="One of the ten complaint categories")
    category_inferred: bool = Field(False, title="True when intake inferred the category from text")
    priority: Literal["urgent", "high", "normal"] = Field("normal", title="Priority")
    order: OrderSummary = Field(title="The order")
    demand: dict[str, Any] = Field(title="The one concrete demand, e.g. {type: refund, …}")
    filed_at: AwareDatetime = Field(title="When intake accepted it (UTC)")
    category_confidence: float | None = Field(None, title="0..1; 1 when the filer chose the category", ge=0, le=1)
    description: str = Field("", title="What happened, secrets masked", max_length=5000)
    incident_at: AwareDatetime | None = Field(None, title="When the problem happened (UTC)")
    discovered_at: AwareDatetime | None = Field(
        None, title="When the complainant discovered the problem (UTC); starts the complaint window")
    priority_reasons: list[str] = Field(default_factory=list, title="Why the priority is above normal")
    source: Literal["http", "kafka"] = Field("http", title="How the complaint came in")
    platform_reference: str | None = Field(None, title="The platform's reference (Kafka filings)", max_length=128)


class ComplaintUpdated(Event):
    """Something on the complaint changed (a statement, a corrected category)."""

    type: Literal["ComplaintUpdated"] = "ComplaintUpdated"
    change: str = Field(title="What changed, e.g. statement_added, category_corrected")
    detail: dict[str, Any] = Field(default_factory=dict, title="Non-secret details of the change")


class ComplaintWithdrawn(Event):
    """The complainant withdrew the complaint."""

    type: Literal["ComplaintWithdrawn"] = "ComplaintWithdrawn"
    reason: str = Field("", title="Why, in the complainant's words", max_length=2000)


class AccountFreezeRequested(Event):
    """An urgent request to freeze the account or payment instrument (unauthorized charges)."""

    type: Literal["AccountFreezeRequested"] = "AccountFreezeRequested"
    platform: str = Field(title="Platform id")
    payment_channel: str = Field(title="Channel to ask for the freeze")
    reason: str = Field(title="Why the freeze is requested")
    freeze: list[str] = Field(default_factory=lambda: ["account", "payment_instrument"],
                              title="What to freeze: account, payment_instrument, merchant_settlement")
    order_number: str | None = Field(None, title="The order the charge is about", max_length=64)
    transaction_id: str | None = Field(None, title="The channel's transaction id", max_length=128)


class FileComplaint(Message):
    """A platform asks intake to file a complaint; answers go to the reply topic by reference."""

    type: Literal["FileComplaint"] = "FileComplaint"
    platform_reference: str = Field(title="The platform's own reference for this filing", max_length=128)
    complaint: dict[str, Any] = Field(title="The complaint body, as POST /v1/complaints takes it "
                                            "(its `platform` names the platform the reply is for)")

    key_doc: ClassVar[str] = "The platform's own reference (platform_reference): one filing's commands keep their order"

    def key(self) -> str:
        return self.platform_reference


def reply_key(platform: str, platform_reference: str) -> str:
    """The record key of a reply: `platform:reference`, so two platforms' references never meet and
    a platform's replies share the prefix `platform:` (a prefixed ACL can grant it only those)."""
    return f"{platform}:{platform_reference}"


_REPLY_KEY = ("`platform:platform_reference` (e.g. kameng-example:ORDER-1): the platform's own replies "
              "share the prefix `<platform>:`")


class ComplaintAccepted(Message):
    """Answer to FileComplaint: filed (or already filed) under this ticket."""

    type: Literal["ComplaintAccepted"] = "ComplaintAccepted"
    platform: str = Field(
        title="The platform the command filed for (its complaint's `platform`); the reply is for it alone")
    platform_reference: str = Field(title="The platform's reference from the command")
    ticket: str = Field(title="Ticket number")
    already_existed: bool = Field(False, title="True when the complaint had been filed before")

    key_doc: ClassVar[str] = _REPLY_KEY

    def key(self) -> str:
        return reply_key(self.platform, self.platform_reference)


class ComplaintRejected(Message):
    """Answer to FileComplaint: refused, with the field errors."""

    type: Literal["ComplaintRejected"] = "ComplaintRejected"
    platform: str = Field(
        title="The platform the command filed for (its complaint's `platform`); the reply is for it alone")
    platform_reference: str = Field(title="The platform's reference from the command")
    errors: list[dict[str, str]] = Field(title="Each error: field, rule, message")

    key_doc: ClassVar[str] = _REPLY_KEY

    def key(self) -> str:
        return reply_key(self.platform, self.platform_reference)


class _CloudEventPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FilingAcceptedData(_CloudEventPart):
    """Data of org.complaints-suite.filing.accepted.v1 (its JSON Schema: GET /schemas/{type}.json)."""

    model_config = ConfigDict(title="FilingAcceptedData")

    occurred_at: str = Field(title="When intake answered, RFC 3339 UTC with milliseconds")
    platform: str = Field(title="The platform the reply is for (the command's complaint's `platform`)")
    platform_reference: str = Field(title="The platform's reference from the command")
    ticket: str = Field(title="Ticket number the complainant quotes")
    already_existed: bool = Field(title="True when the complaint had been filed before")
    complaint_id: str | None = Field(None, title="Opaque complaint id (the status topic's key); null when unknown")


class FilingRejectedData(_CloudEventPart):
    """Data of org.complaints-suite.filing.rejected.v1 (its JSON Schema: GET /schemas/{type}.json)."""

    model_config = ConfigDict(title="FilingRejectedData")

    occurred_at: str = Field(title="When intake answered, RFC 3339 UTC with milliseconds")
    platform: str = Field(title="The platform the reply is for (the command's complaint's `platform`)")
    platform_reference: str = Field(title="The platform's reference from the command")
    errors: list[dict[str, str]] = Field(title="Each refused field: field, rule, message (English), message_en, "
                                               "message_zh")


class _ReplyCloudEvent(_CloudEventPart):
    """The CloudEvents 1.0 attributes of a reply on the replies topic (Kafka structured mode)."""

    key_doc: ClassVar[str] = _REPLY_KEY

    specversion: Literal["1.0"] = Field(title="CloudEvents version")
    id: str = Field(title="Event id (UUID, one per answer sent)")
    source: str = Field(title="urn:complaints-suite:notify (the suite's one public source)")
    subject: str = Field(title="`platform:platform_reference`, as the record key")
    time: str = Field(title="When intake answered (RFC 3339)")
    datacontenttype: Literal["application/json"] = Field(title="Content type of data")
    dataschema: str = Field(title="URL of the JSON Schema of data: {COMPLAINTS_PUBLIC_BASE_URL}/schemas/{type}.json")
    partitionkey: str = Field(title="Partitioning extension: `platform:platform_reference`")


class FilingAcceptedCloudEvent(_ReplyCloudEvent):
    """FileComplaint answered: filed (or filed before) under this ticket."""

    model_config = ConfigDict(title="FilingAcceptedCloudEvent")

    type: Literal["org.complaints-suite.filing.accepted.v1"] = Field(title="Event type, versioned")
    data: FilingAcceptedData = Field(title="The acceptance")


class FilingRejectedCloudEvent(_ReplyCloudEvent):
    """FileComplaint answered: refused, with the field errors."""

    model_config = ConfigDict(title="FilingRejectedCloudEvent")

    type: Literal["org.complaints-suite.filing.rejected.v1"] = Field(title="Event type, versioned")
    data: FilingRejectedData = Field(title="The refusal")
