"""Decide who hears about an event, on which channels and in which language."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.public import CLOSING_STATES, INTERNAL_ALIASES, filter_names

from .notice import SHANGHAI, Channel, Language, Role, check_time_zone

_ALL = frozenset(Role)
AUDIENCE: dict[str, frozenset[Role]] = {
    "ComplaintFiled": _ALL,
    "ComplaintStatusChanged": _ALL,
    # Partners hear of an assessment only when it asks for evidence (evidence.requested.v1).
    "EvidenceAssessed": frozenset({Role.COMPLAINANT, Role.AGENT, Role.PARTNER}),
    # People are told of an assignment by the case itself; partners by case.assigned.v1.
    "CaseAssigned": frozenset({Role.PARTNER}),
    "SlaWarning": frozenset({Role.MERCHANT, Role.AGENT}),
    "SlaBreached": _ALL,
    "ResolutionProposed": _ALL,
    "ComplaintEscalated": _ALL,
    # The partner freezes; the buyer calls the bank at once; the agent follows it up.
    "AccountFreezeRequested": frozenset({Role.COMPLAINANT, Role.AGENT, Role.PARTNER}),
    "AccountFreezeConfirmed": frozenset({Role.COMPLAINANT, Role.AGENT}),
}
#: The public type names (shared/contracts/public.py) stand for the internal events they tell, so a
#: subscription's filter may name either (the internal names stay accepted as aliases).
AUDIENCE |= {public: AUDIENCE[internal] for internal, public in INTERNAL_ALIASES.items()}
AUDIENCE |= {closing: AUDIENCE["ComplaintStatusChanged"] for closing in CLOSING_STATES.values()}
DEFAULT_AUDIENCE = frozenset({Role.COMPLAINANT, Role.AGENT})
#: Who hears of a lapse or warning of the buyer's own clock when the event does not say (old events).
BUYER_CLOCK_AUDIENCE = frozenset({Role.COMPLAINANT, Role.AGENT})
# SMS costs money and attention: by default only when the reader must act against a deadline,
# or at once (URGENT: the buyer must call the bank to freeze the card now).
_SMS_BY_DEFAULT = {Role.COMPLAINANT: {"EvidenceAssessed", "ResolutionProposed", "SlaWarning", "AccountFreezeRequested"},
                   Role.MERCHANT: {"SlaBreached"}}
URGENT = frozenset({"AccountFreezeRequested"})
_EMAIL_BY_DEFAULT = {Role.COMPLAINANT: None, Role.MERCHANT: None, Role.AGENT: {"SlaWarning", "SlaBreached"}}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:complaints-suite:notify:delivery")
_ROLE_ORDER = list(Role)
_CHANNEL_ORDER = list(Channel)


class Preferences(BaseModel):
    """A reader's choices; channels None means the defaults for their role and the event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: tuple[Channel, ...] | None = None
    language: Language = Language.ZH_CN
    time_zone: str = SHANGHAI

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)


class Recipient(BaseModel):
    """A party that may be told about a complaint, with its addresses and preferences."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    role: Role
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    event_types: frozenset[str] = frozenset()
    preferences: Preferences = Preferences()


@dataclass(frozen=True, slots=True)
class DeliveryIntent:
    """One (event, recipient, channel) to deliver exactly once."""

    event_id: str
    recipient_id: str
    role: Role
    channel: Channel
    language: Language
    time_zone: str
    address: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        """The bookkeeping key (event_id, recipient_id, channel)."""
        return (self.event_id, self.recipient_id, self.channel.value)

    @property
    def delivery_id(self) -> str:
        """A stable UUID of the key, usable as a document id, Message-ID or webhook-id."""
        return str(uuid.uuid5(_NAMESPACE, "\x1f".join(self.key)))


def default_channels(*, role: Role, event_type: str) -> tuple[Channel, ...]:
    """Channels a reader gets when they have not chosen any."""
    if role is Role.PARTNER:
        return (Channel.WEBHOOK,)
    channels = [Channel.IN_APP]
    email_events = _EMAIL_BY_DEFAULT.get(role)
    if email_events is None or event_type in email_events:
        channels.append(Channel.EMAIL)
    if event_type in _SMS_BY_DEFAULT.get(role, set()):
        channels.append(Channel.SMS)
    return tuple(channels)


def _address(recipient: Recipient, channel: Channel) -> tuple[bool, str | None]:
    address = {Channel.EMAIL: recipient.email, Channel.SMS: recipient.phone,
               Channel.WEBHOOK: recipient.webhook_url}.get(channel)
    return (channel is Channel.IN_APP or bool(address)), address


def audience_of(*, event_type: str, audience: Iterable[str] = (), owner: str = "") -> frozenset[Role]:
    """Who hears of an event: the roles it names when it names any (SlaWarning, SlaBreached), the
    buyer and the agent for a buyer's own clock, else the event type's usual readers."""
    named = frozenset(Role(r) for r in audience if r in {role.value for role in Role})
    if named:
        return named
    if owner == Role.COMPLAINANT.value and event_type in {"SlaWarning", "SlaBreached"}:
        return BUYER_CLOCK_AUDIENCE
    return AUDIENCE.get(event_type, DEFAULT_AUDIENCE)


def plan_deliveries(*, event_id: str, event_type: str, recipients: Iterable[Recipient],
                    audience: frozenset[Role] | None = None, public_type: str | None = None) -> list[DeliveryIntent]:
    """Delivery intents for an event, one per (recipient, channel), in a stable order.

    A partner's filter matches the event's internal type or the public type it is told under
    (`public_type`, with its aliases: see shared/contracts/public.filter_names)."""
    audience = AUDIENCE.get(event_type, DEFAULT_AUDIENCE) if audience is None else audience
    names = {event_type} | (filter_names(public_type) if public_type else set())
    intents: dict[tuple[str, str, str], DeliveryIntent] = {}
    for recipient in recipients:
        if recipient.role not in audience:
            continue
        if recipient.role is Role.PARTNER and recipient.event_types and not names & recipient.event_types:
            continue
        prefs = recipient.preferences
        for channel in prefs.channels if prefs.channels is not None else default_channels(
                role=recipient.role, event_type=event_type):
            reachable, address = _address(recipient, channel)
            if not reachable:
                continue
            intent = DeliveryIntent(event_id, recipient.id, recipient.role, channel,
                                    prefs.language, prefs.time_zone, address)
            intents.setdefault(intent.key, intent)
    return sorted(intents.values(), key=lambda i: (_ROLE_ORDER.index(i.role), i.recipient_id,
                                                    _CHANNEL_ORDER.index(i.channel)))
