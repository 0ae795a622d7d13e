"""The words every service and partner share: complaint categories and case states on the wire."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """The ten things that go wrong (DOMAIN.md), as they travel in events and requests."""

    CHARGED_NO_ORDER = "charged-no-order"
    NOT_DELIVERED = "not-delivered"
    WRONG_DELIVERY = "wrong-delivery"
    INVALID_CARD_KEY = "invalid-card-key"
    UNAUTHORIZED_CHARGE = "unauthorized-charge"
    REFUND_REFUSED = "refund-refused"
    ACCOUNT_RESTRICTED = "account-restricted"
    MERCHANT_FRAUD = "merchant-fraud"
    SLOW_OR_RUDE_SERVICE = "slow-or-rude-service"
    DATA_LEAK = "data-leak"


class CaseState(StrEnum):
    """Where a complaint's case is in its life; escalation owns it, intake shows it."""

    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    AWAITING_EVIDENCE = "awaiting_evidence"
    IN_REVIEW = "in_review"
    AWAITING_MERCHANT = "awaiting_merchant"
    RESOLUTION_PROPOSED = "resolution_proposed"
    PLATFORM_ARBITRATION = "platform_arbitration"
    PAYMENT_CHANNEL_DISPUTE = "payment_channel_dispute"
    EXTERNAL = "external"
    LEGAL = "legal"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
