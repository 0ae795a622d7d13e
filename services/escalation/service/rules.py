"""The rules a running service applies: its policy, its calendar and the edge mappings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.escalation.config import EscalationSettings
from services.escalation.domain.calendar import WorkingCalendar
from services.escalation.domain.holiday_overrides import load_overrides
from services.escalation.domain.policy import Policy, load_policy
from services.escalation.domain.terms import Party
from shared.auth import Principal, Role
from shared.contracts.vocabulary import Category

_PARTIES = {Role.COMPLAINANT: Party.COMPLAINANT, Role.MERCHANT: Party.MERCHANT,
            Role.AGENT: Party.AGENT, Role.PARTNER: Party.AGENT}


@dataclass(frozen=True)
class Rules:
    """Policy, working calendar and reopen window, loaded once at startup."""

    policy: Policy
    calendar: WorkingCalendar

    @property
    def reopen_window(self) -> timedelta:
        """How long a finished case may be reopened."""
        return timedelta(days=self.policy.reopen_window_days)


def load_rules(*, settings: EscalationSettings) -> Rules:
    """Read and validate the policy and the calendar overrides; raises naming what is wrong."""
    overrides = load_overrides(path=settings.calendar_overrides_path)
    return Rules(policy=load_policy(path=settings.policy_path),
                 calendar=WorkingCalendar(overrides=overrides))


def to_category(*, raw: str) -> Category | None:
    """The category a message names, or None when it is unknown."""
    try:
        return Category(raw)
    except ValueError:
        return None


def party_of(*, principal: Principal) -> Party:
    """The lifecycle party a caller acts as (platform integrations act for the platform)."""
    return _PARTIES[principal.role]


def in_scope(*, principal: Principal, case: dict) -> bool:
    """Whether the caller may see the case; callers answer 404 when not."""
    if principal.ticket and principal.ticket != case["ticket"]:
        return False  # a status link's token: its one complaint only
    if principal.platform and principal.platform != case["platform"]:
        return False
    if principal.role is Role.COMPLAINANT:
        return case["complainant_id"] == principal.subject
    if principal.role is Role.MERCHANT:
        return case["merchant_id"] == principal.merchant_id
    return principal.platform == case["platform"]
