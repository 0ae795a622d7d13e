"""The escalation domain's shared vocabulary: tiers, parties, categories, clock bases."""

from __future__ import annotations

from enum import StrEnum

from shared.contracts.vocabulary import Priority, Tier




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
