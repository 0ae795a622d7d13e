"""The routing policy's schema: clocks, the external gate, and routing rules (see policy.yaml)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.escalation.domain.remedies import RemedyTerms
from services.escalation.domain.terms import Basis, BreachAction, current_category
from shared.contracts.vocabulary import Category, Priority, Role, Tier
from shared.money import Money

FAILURE_PROOFS = ("refusal_record", "closed_ticket", "breached_clock")


class ClockOwner(StrEnum):
    """Whose deadline a clock is (SlaWarning/SlaBreached ``owner``)."""

    COMPLAINANT = "complainant"  # the buyer's own window: a lapse is theirs, never the merchant's
    MERCHANT = "merchant"  # the handling side: its lapses count in the merchant's record
    PLATFORM = "platform"  # the platform's arbitration
    CHANNEL = "channel"  # the payment channel's decision


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Audience(_Strict):
    """Who hears of a clock's warning and of its breach (roles: complainant, merchant, agent, partner)."""

    warn: tuple[Role, ...] = Field(min_length=1)
    breach: tuple[Role, ...] = Field(min_length=1)


class Length(_Strict):
    """A clock length of its own basis, e.g. the complex-case variant of a tier clock."""

    basis: Basis
    duration: int | float = Field(gt=0)

    @model_validator(mode="after")
    def _whole_days(self) -> Length:
        if self.basis is not Basis.CALENDAR_HOURS and self.duration != int(self.duration):
            raise ValueError(f"duration must be a whole number of days for basis {self.basis}")
        if self.basis in {Basis.DAYS_FROM_PAYMENT, Basis.DAYS_FROM_DISCOVERY}:
            raise ValueError("a complex length runs from when the clock starts: use calendar_hours "
                             "or working_days")
        return self


class ClockSpec(_Strict):
    """One clock: what it counts, how long, whose it is, who hears of it and what a breach does."""

    basis: Basis
    duration: int | float | None = Field(None, gt=0, title="Hours (fractions allowed) or whole days, by basis")
    by_channel: dict[str, int] = Field({}, title="Days per payment channel (days_from_payment)")
    complex: Length | None = Field(None, title="Length for a complex case (see complex_case)")
    owner: ClockOwner
    notify: Audience
    pauses: bool = Field(False, title="Stops while the case waits on the complainant")
    warn_share: float | None = Field(None, gt=0, lt=1)
    on_breach: tuple[BreachAction, ...] = ()

    @model_validator(mode="after")
    def _owned(self) -> ClockSpec:
        if self.owner is ClockOwner.COMPLAINANT:
            if BreachAction.ESCALATE in self.on_breach:
                raise ValueError("a complainant's own window may not escalate on breach: its lapse is "
                                 "the complainant's, not the merchant's")
            if Role.COMPLAINANT not in self.notify.warn:
                raise ValueError("notify.warn must include complainant for a clock the complainant owns")
        return self

    @model_validator(mode="after")
    def _has_length(self) -> ClockSpec:
        if self.duration is None and not (self.basis is Basis.DAYS_FROM_PAYMENT and self.by_channel):
            raise ValueError("duration is required (by_channel alone is only for days_from_payment)")
        if any(days <= 0 for days in self.by_channel.values()):
            raise ValueError("by_channel days must be positive")
        # Fractions of an hour give tests and drills clocks of seconds; days stay whole.
        if self.basis is not Basis.CALENDAR_HOURS and self.duration is not None \
                and self.duration != int(self.duration):
            raise ValueError(f"duration must be a whole number of days for basis {self.basis}")
        return self

    def length_for(self, *, channel: str | None) -> int | float | None:
        """The clock's length for a payment channel, or None when it does not apply there."""
        return self.by_channel.get(channel or "", self.duration)

    def audience(self, *, kind: str) -> tuple[Role, ...]:
        """Who hears of a warning ("warning", "day_before") or a breach ("breach")."""
        roles = self.notify.breach if kind == "breach" else self.notify.warn
        if kind == "breach":  # an on_breach notify_* action also names a role to tell
            extra = {BreachAction.NOTIFY_AGENT: Role.AGENT, BreachAction.NOTIFY_COMPLAINANT: Role.COMPLAINANT,
                     BreachAction.NOTIFY_MERCHANT: Role.MERCHANT}
            roles = (*roles, *(extra[a] for a in self.on_breach if a in extra and extra[a] not in roles))
        return roles


class ComplexCase(_Strict):
    """What makes a case complex, for clocks with a ``complex`` length: any one condition."""

    amount_over: Money | None = None
    categories: tuple[Category, ...] = ()
    merchant_contested: bool = Field(False, title="The merchant contested the complaint (a refusal on record)")

    def matches(self, *, category: str | None, amount: Money | None, contested: bool) -> bool:
        """Whether a case with these facts is complex."""
        big = (self.amount_over is not None and amount is not None
               and amount.currency == self.amount_over.currency
               and amount.amount_minor > self.amount_over.amount_minor)
        return big or (category is not None and category in self.categories) \
            or (self.merchant_contested and contested)


class ExternalGate(_Strict):
    """What proves internal handling failed before a case may go to 12315 and the like."""

    requires_any_of: tuple[str, ...] = FAILURE_PROOFS
    breached_clocks: tuple[str, ...] = ()


class Condition(_Strict):
    """When a rule applies; every given condition must hold."""

    categories: tuple[Category, ...] = ()
    priorities: tuple[Priority, ...] = ()
    channels: tuple[str, ...] = ()
    amount_over: Money | None = None
    merchant_open_complaints_at_least: int | None = Field(None, ge=1)
    merchant_breached_clocks_at_least: int | None = Field(None, ge=1)

    @field_validator("categories", mode="before")
    @classmethod
    def _current_spelling(cls, value: object) -> object:
        # A policy file written when escalation spelled categories with underscores still loads.
        if isinstance(value, list | tuple):
            return [current_category(v) if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not any(getattr(self, name) for name in type(self).model_fields):
            raise ValueError("a rule needs at least one condition")
        return self


class Effect(_Strict):
    """What a matching rule changes; list fields replace, add_* fields append."""

    priority: Priority | None = Field(None, title="Raises priority; never lowers it")
    first_tier: Tier | None = None
    parallel_tiers: tuple[Tier, ...] | None = None
    next_tiers: tuple[Tier, ...] | None = None
    add_next_tiers: tuple[Tier, ...] = ()
    clocks: tuple[str, ...] | None = None
    add_clocks: tuple[str, ...] = ()
    request_account_freeze: bool | None = None


class Rule(_Strict):
    """A named routing rule."""

    name: str = Field(min_length=1)
    when: Condition
    then: Effect


class Defaults(_Strict):
    """The route before any rule applies."""

    priority: Priority = Priority.NORMAL
    first_tier: Tier = Tier.INTERNAL
    parallel_tiers: tuple[Tier, ...] = ()
    next_tiers: tuple[Tier, ...] = ()
    clocks: tuple[str, ...] = ()
    request_account_freeze: bool = False


class Routing(_Strict):
    """Defaults plus rules applied in file order."""

    default: Defaults
    rules: tuple[Rule, ...] = ()


class Policy(_Strict):
    """The whole policy file."""

    version: int = Field(ge=1)
    warn_share: float = Field(0.8, gt=0, lt=1)
    reopen_window_days: int = Field(15, ge=1)
    clocks: dict[str, ClockSpec]
    tier_clocks: dict[Tier, str] = Field({}, title="The clock each tier runs from when a case enters it")
    tier_windows: dict[Tier, tuple[str, ...]] = Field(
        {}, title="The complainant's windows a tier needs: once all a case has lapsed, breaches pass it over")
    complex_case: ComplexCase = ComplexCase()
    external: ExternalGate = ExternalGate()
    routing: Routing
    remedies: RemedyTerms = RemedyTerms()  # the outcomes helper's: 退一赔三 figures (remedies.py)

    def clock_warn_share(self, *, name: str) -> float:
        """The warning share for a clock: its own, else the policy default."""
        return self.clocks[name].warn_share or self.warn_share
