"""Opening a case on its policy route, and re-routing it when intake corrects the category."""

from __future__ import annotations

from datetime import datetime

from services.escalation.domain.actions import Action, ActionInvalid, IllegalTransition
from services.escalation.domain.clocks import Clock
from services.escalation.domain.effects import (
    CaseFacts,
    ClockChanges,
    apply_clock_changes,
    open_clocks,
    opening_clocks,
    refund_requested,
)
from services.escalation.domain.routing import MerchantHistory, Route, route
from services.escalation.domain.states import ACTIVE, TIER_STATES, CaseStatus, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.models import Case
from services.escalation.repository import cases, timers
from services.escalation.service import outcomes
from services.escalation.service.rules import Rules, to_category
from services.escalation.service.steps import clock_entries, clocks_of, route_of, save_step, status_of
from shared.bus import Rejected
from shared.contracts.complaints import AccountFreezeRequested, ComplaintFiled, ComplaintUpdated
from shared.contracts.escalation import CaseOpened, ComplaintEscalated, ComplaintStatusChanged
from shared.contracts.vocabulary import Category, Priority, Tier
from shared.envelope import Event, Message, utcnow
from shared.ledger import apply_once
from shared.money import Money
from shared.outbox import emit
from shared.store import UnitOfWork

_FREEZE_REASON = "unauthorized charge: freeze the account or card before anything else"


def merchant_history(uow: UnitOfWork, *, platform: str, merchant_id: str, rules: Rules) -> MerchantHistory:
    """The merchant's missed clocks so far, and its open complaints when a routing rule asks."""
    return cases.get_merchant_history(uow, platform=platform, merchant_id=merchant_id,
                                      count_open=_routes_on_open_complaints(rules))


def read_ahead(events: list[Message], uow: UnitOfWork, *, rules: Rules) -> None:
    """Read, for a consumer's group, the history of each merchant its filings name, once per
    merchant: a poll of complaints against one busy shop reads it once (see UnitOfWork.read_ahead);
    and the facts parked for its filings, in one query."""
    filed = [e for e in events if isinstance(e, ComplaintFiled)]
    cases.read_ahead_merchant_histories(uow, merchants=[(e.platform, e.merchant.id) for e in filed],
                                        count_open=_routes_on_open_complaints(rules))
    if filed:  # what evidence said before intake, for each case to take as it opens
        cases.read_ahead_parked_facts(uow, complaint_ids=[e.complaint_id for e in filed])


def _routes_on_open_complaints(rules: Rules) -> bool:
    return any(rule.when.merchant_open_complaints_at_least is not None for rule in rules.policy.routing.rules)


def route_complaint(*, rules: Rules, category: Category, event: ComplaintFiled,
                    history: MerchantHistory) -> Route:
    """The policy route of a filed complaint."""
    return route(policy=rules.policy, category=category, priority=Priority(event.priority),
                 amount=Money.model_validate(event.order.amount.model_dump()),
                 channel=event.order.payment_channel, merchant=history)


def discovery_of(event: ComplaintFiled) -> datetime:
    """When the problem was discovered: as stated, else when it happened, else when it was filed.

    The earliest known instant is taken so the complaint-window clock never runs late for the
    complainant it warns."""
    return event.discovered_at or event.incident_at or event.filed_at


def build_case(*, event: ComplaintFiled, rules: Rules, category: Category,
               history: MerchantHistory) -> tuple[Case, dict[str, Clock], list[Event]]:
    """The new case of a filed complaint with its running clocks and the events that announce it."""
    r = route_complaint(rules=rules, category=category, event=event, history=history)
    # A complaint on the internal tier is acknowledged on receipt; higher tiers open in their state;
    # one on the automatic tier is acknowledged there, waiting for the channel to confirm the debit.
    first = r.first_state if r.first_state is not State.FILED else State.ACKNOWLEDGED
    status = CaseStatus(state=first, automatic=r.first_tier is Tier.AUTOMATIC)
    opened = event.filed_at
    discovered = discovery_of(event)
    facts = CaseFacts(category=category.value, amount=Money.model_validate(event.order.amount.model_dump()),
                      refund_requested=refund_requested(demand=event.demand))
    clocks = open_clocks(policy=rules.policy, route=r, opened_at=opened, paid_at=event.order.paid_at,
                         discovered_at=discovered, channel=event.order.payment_channel,
                         calendar=rules.calendar, facts=facts)
    case = Case(
        id=event.complaint_id, ticket=event.ticket, state=status.state.value, tier=status.tier.value,
        category=category.value, priority=r.priority.value, platform=event.platform,
        merchant_id=event.merchant.id, complainant_id=event.complainant.id, product=event.order.item,
        amount=event.order.amount.model_dump(), channel=event.order.payment_channel,
        paid_at=event.order.paid_at, discovered_at=discovered, opened_at=opened, updated_at=utcnow(),
        status=status.model_dump(mode="json"), route=r.model_dump(mode="json"),
        clocks=clock_entries(clocks=clocks, previous=[]), freeze_requested=r.request_account_freeze,
        history=[{"at": opened, "actor": "system", "action": "open", "from_state": "filed",
                  "to_state": status.state.value, "reason": ", ".join(r.matched_rules)}],
    )
    ids = {"complaint_id": case.id, "ticket": case.ticket}
    messages: list[Event] = [
        CaseOpened(**ids, tier=case.tier, state=case.state,
                   clocks=[{"name": n, "due_at": c.due_at.isoformat()} for n, c in clocks.items()]),
        ComplaintStatusChanged(**ids, from_state="filed", to_state=case.state, tier=case.tier,
                               reason="case_opened", action="open"),
        *_opening_extras(ids=ids, route=r, status=status, event=event),
    ]
    return case, clocks, messages


def open_case(uow: UnitOfWork, *, event: ComplaintFiled, rules: Rules, topic: str, consumer: str) -> Case:
    """Open the case of a filed complaint on its route, start its clocks and timers, tell the others."""
    category = to_category(raw=event.category)
    if category is None:
        raise Rejected(f"category: unknown complaint category {event.category!r}")
    history = merchant_history(uow, platform=event.platform, merchant_id=event.merchant.id, rules=rules)
    case, clocks, messages = build_case(event=event, rules=rules, category=category, history=history)

    def work(tx: UnitOfWork) -> Case:
        # Evidence read before intake: what it said about this complaint waits for the case.
        parked = cases.take_parked_facts(tx, complaint_id=case.id)
        if "evidence_assessment" in parked:
            case.evidence_assessment = parked["evidence_assessment"]
        if "debit_confirmed" not in parked:
            cases.create_case(tx, case=case)
        else:
            cases.create_case_now(tx, case=case)  # read back at once: the automatic tier offers its refund
        timers.sync_timers(tx, complaint_id=case.id, ticket=case.ticket, clocks=clocks, new_case=True)
        emit(tx, topic=topic, messages=messages)
        if "debit_confirmed" in parked:
            doc = cases.get_case(tx, complaint_id=case.id)
            assert doc is not None  # created above in this transaction
            outcomes.automatic_refund(tx, doc=doc, debit=parked["debit_confirmed"], rules=rules, topic=topic)
        return case

    return apply_once(uow, consumer=consumer, event=event, work=work)


def _opening_extras(*, ids: dict[str, str], route: Route, status: CaseStatus,
                    event: ComplaintFiled) -> list[Event]:
    out: list[Event] = []
    if status.tier.rank > Tier.INTERNAL.rank:
        out.append(ComplaintEscalated(**ids, from_tier="internal", to_tier=status.tier,
                                      reason="routing: " + ", ".join(route.matched_rules)))
    if route.request_account_freeze:
        out.append(AccountFreezeRequested(**ids, platform=event.platform,
                                          payment_channel=event.order.payment_channel,
                                          reason=_FREEZE_REASON, order_number=event.order.order_number,
                                          transaction_id=event.order.payment_transaction_id))
    return out


def correct_category(uow: UnitOfWork, *, event: ComplaintUpdated, rules: Rules, topic: str, consumer: str) -> None:
    """Re-route a case whose category intake corrected: new clocks, freeze, a higher first tier."""
    detail = event.detail
    raw = next((str(detail[k]) for k in ("category", "to", "new_category", "corrected_to")
                if detail.get(k)), "")
    category = to_category(raw=raw)
    if category is None:
        raise Rejected(f"detail.category: unknown complaint category {raw!r}")

    def work(tx: UnitOfWork) -> None:
        doc = cases.get_case(tx, complaint_id=event.complaint_id)
        if doc is None:
            raise Rejected(f"no case for complaint {event.complaint_id}")
        old = route_of(doc)
        new = route(policy=rules.policy, category=category, priority=Priority(doc["priority"]),
                    amount=Money.model_validate(doc["amount"]), channel=doc.get("channel"),
                    merchant=merchant_history(tx, platform=doc["platform"], merchant_id=doc["merchant_id"],
                                              rules=rules))
        status, now = status_of(doc), utcnow()
        clocks = clocks_of(doc)
        if status.state in ACTIVE:
            missing = tuple(n for n in opening_clocks(route=new) if n not in clocks)
            clocks = apply_clock_changes(clocks=clocks, changes=ClockChanges(start=missing), at=now,
                                         policy=rules.policy, paid_at=doc.get("paid_at"),
                                         discovered_at=doc.get("discovered_at"),
                                         channel=doc.get("channel"), calendar=rules.calendar)
        fields = {"category": category.value, "route": new.model_dump(mode="json"),
                  "priority": new.priority.value, "updated_at": now,
                  "clocks": clock_entries(clocks=clocks, previous=doc.get("clocks", [])),
                  "freeze_requested": doc.get("freeze_requested") or new.request_account_freeze}
        extras: list[Event] = []
        ids = {"complaint_id": doc["_id"], "ticket": doc["ticket"]}
        if new.request_account_freeze and not old.request_account_freeze and not doc.get("freeze_requested"):
            extras.append(AccountFreezeRequested(**ids, platform=doc["platform"],
                                                 payment_channel=doc.get("channel", "other"),
                                                 reason=_FREEZE_REASON))
        cases.update_case(tx, doc=doc, fields=fields)
        timers.sync_timers(tx, complaint_id=doc["_id"], ticket=doc["ticket"], clocks=clocks)
        doc = {**doc, **fields, "version": doc["version"] + 1}
        target = new.first_tier
        # A case the automatic tier held that is no charged-no-order after all goes on to internal handling.
        handed_on = status.automatic and target is not Tier.AUTOMATIC
        target = Tier.INTERNAL if handed_on and target not in TIER_STATES else target
        if status.state in ACTIVE and (handed_on or target in TIER_STATES and target.rank > status.tier.rank):
            try:
                step = perform(status=status, action=Action.ESCALATE, actor=Party.SYSTEM, at=now,
                               target=target, reason=f"category corrected to {category.value}")
            except (IllegalTransition, ActionInvalid):
                step = None
            if step is not None:
                save_step(tx, doc=doc, step=step, rules=rules, topic=topic, after=extras)
                return
        emit(tx, topic=topic, messages=extras)

    apply_once(uow, consumer=consumer, event=event, work=work)
