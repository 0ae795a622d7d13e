"""The words every service and partner share: categories, states, roles, priorities, tiers, payment channels."""

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


class Role(StrEnum):
    """Who a caller or a recipient is: a buyer, a seller, platform staff or a platform integration."""

    COMPLAINANT = "complainant"
    MERCHANT = "merchant"
    AGENT = "agent"
    PARTNER = "partner"


class Priority(StrEnum):
    """How soon a complaint must be handled; intake sets it, escalation may only raise it."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Ordering so a rule can only raise priority, never lower it."""
        return list(Priority).index(self)


class Tier(StrEnum):
    """Where a complaint is being handled, lowest first (DOMAIN.md's escalation tiers)."""

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


class PaymentChannel(StrEnum):
    """How the order was paid."""

    ALIPAY = "alipay"
    WECHAT = "wechat"
    BANK_CARD = "bank_card"
    PAYPAL = "paypal"
    VISA = "visa"
    MASTERCARD = "mastercard"
    WALLET_BALANCE = "wallet_balance"
    OTHER = "other"
