"""The escalation domain's vocabulary: parties, clock bases, breach actions (categories, priorities
and tiers are the suite's, from shared/contracts/vocabulary.py)."""

from __future__ import annotations

from enum import StrEnum

from shared.contracts.vocabulary import Category, Priority, Tier

__all__ = ["OLD_CATEGORY_SPELLINGS", "Basis", "BreachAction", "Category", "Party", "Priority", "Tier",
           "current_category"]


class Party(StrEnum):
    """Who performs an action or owes one."""

    COMPLAINANT = "complainant"
    MERCHANT = "merchant"
    AGENT = "agent"
    SYSTEM = "system"


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


#: How escalation once spelled the categories (underscores, "slow_service"), still found in cases
#: stored then and in policy files written then.
OLD_CATEGORY_SPELLINGS = {**{c.value.replace("-", "_"): c for c in Category},
                          "slow_service": Category.SLOW_OR_RUDE_SERVICE}


def current_category(raw: str) -> str:
    """A category name as spelled today: an old underscore spelling becomes the shared one."""
    old = OLD_CATEGORY_SPELLINGS.get(raw)
    return old.value if old is not None else raw
