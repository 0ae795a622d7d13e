"""The escalation domain's shared vocabulary: tiers, parties, categories, clock bases."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """Where a complaint is being handled, lowest first (see DOMAIN.md's escalation tiers)."""

    AUTOMATIC = "automatic"
    INTERNAL = "internal"
    PLATFORM = "platform"
    PAYMENT_CHANNEL = "payment_channel"
    EXTERNAL = "external"
    LEGAL = "legal"

    @property
    def rank(self) -> int:
        """Position in the escalation ladder; higher is further up."""
        return list(Tier).index(self)


class Party(StrEnum):
    """Who performs an action or owes one."""

    COMPLAINANT = "complainant"
    MERCHANT = "merchant"
    AGENT = "agent"
    SYSTEM = "system"


class Category(StrEnum):
    """The ten complaint categories the seeds describe."""

    CHARGED_NO_ORDER = "charged_no_order"
    NOT_DELIVERED = "not_delivered"
    WRONG_DELIVERY = "wrong_delivery"
    INVALID_CARD_KEY = "invalid_card_key"
    UNAUTHORIZED_CHARGE = "unauthorized_charge"
    REFUND_REFUSED = "refund_refused"
    ACCOUNT_RESTRICTED = "account_restricted"
    MERCHANT_FRAUD = "merchant_fraud"
    SLOW_SERVICE = "slow_service"
    DATA_LEAK = "data_leak"


class Priority(StrEnum):
    """How fast a case must move; the wire contract knows these three."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Ordering so a rule can only raise priority, never lower it."""
        return list(Priority).index(self)


class Basis(StrEnum):
    """What a clock counts in and from when."""

    CALENDAR_HOURS = "calendar_hours"
    WORKING_DAYS = "working_days"
    DAYS_FROM_PAYMENT = "days_from_payment"
    DAYS_FROM_DISCOVERY = "days_from_discovery"


class BreachAction(StrEnum):
    """What the service does when a clock runs out."""

    ESCALATE = "escalate"
    NOTIFY_AGENT = "notify_agent"
    NOTIFY_COMPLAINANT = "notify_complainant"
    NOTIFY_MERCHANT = "notify_merchant"
