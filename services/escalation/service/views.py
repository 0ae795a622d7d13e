"""What a caller sees of a case: state, tier, clocks, who must act now and what may come next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.escalation.domain.duties import duties
from services.escalation.domain.evidence_gate import missing_pieces
from services.escalation.domain.remedies import remedies_offered
from services.escalation.domain.states import allowed_targets
from services.escalation.repository import cases
from services.escalation.service.rules import Rules, in_scope
from services.escalation.service.steps import clocks_of, route_of, status_of
from shared.auth import Principal
from shared.contracts.vocabulary import Category
from shared.envelope import utcnow
from shared.masking import scrub_deep
from shared.money import Money
from shared.store import UnitOfWork


def find_case(uow: UnitOfWork, *, ticket: str, principal: Principal) -> dict[str, Any] | None:
    """The stored case of a ticket if the caller may see it, else None."""
    doc = cases.get_case(uow, ticket=ticket)
    return doc if doc is not None and in_scope(principal=principal, case=doc) else None


def case_view(*, doc: dict[str, Any], rules: Rules, at: datetime | None = None) -> dict[str, Any]:
    """The case as the API shows it (free text scrubbed: every role reads it, merchants too)."""
    at = at or utcnow()
    status, route, clocks = status_of(doc), route_of(doc), clocks_of(doc)
    marks = {e["name"]: e for e in doc.get("clocks", [])}
    return scrub_deep({
        "ticket": doc["ticket"], "complaint_id": doc["_id"], "state": status.state.value,
        "tier": status.tier.value, "category": doc["category"], "priority": doc["priority"],
        "platform": doc["platform"], "merchant_id": doc["merchant_id"], "opened_at": doc["opened_at"],
        "assigned_agent": doc.get("assigned_agent"),
        "route": {"first_tier": route.first_tier, "parallel_tiers": list(route.parallel_tiers),
                  "next_tiers": list(route.next_tiers), "tiers": list(route.tiers),
                  "matched_rules": list(route.matched_rules)},
        "account_freeze_requested": bool(doc.get("freeze_requested")),
        "account_freeze_confirmed_at": doc.get("freeze_confirmed_at"),
        "account_freeze": {"requested": bool(doc.get("freeze_requested")),
                           "confirmed": doc.get("freeze_confirmed_at") is not None,
                           "confirmed_at": doc.get("freeze_confirmed_at"),
                           "confirmed_by": doc.get("freeze_confirmed_by"), "note": doc.get("freeze_note", "")},
        "evidence": _evidence(doc),
        "evidence_overrides": list(doc.get("evidence_overrides", [])),
        "remedies_offered": remedies_offered(category=Category(doc["category"]),
                                             price=Money.model_validate(doc["amount"]), terms=rules.policy.remedies),
        "debit_confirmed": doc.get("debit_confirmed") or None,
        "refusals": list(doc.get("refusals", [])),
        "external_filings": list(doc.get("external_filings", [])),
        "offer": status.offer.model_dump(mode="json") if status.offer else None,
        "outcome": status.outcome.model_dump(mode="json") if status.outcome else None,
        "requested_evidence": list(status.requested_evidence),
        "external_references": list(status.external_references),
        "breached_clocks": list(doc.get("breached_clocks", [])),
        "lapsed_windows": list(doc.get("lapsed_windows", [])),  # of breached_clocks, the complainant's own
        "clocks": [{"name": c.name, "status": c.status(at=at).value, "owner": c.owner.value,
                    "basis": c.basis.value, "started_at": c.started_at, "due_at": c.due_at,
                    "warn_at": c.warn_at, "day_before_at": c.day_before_at, "paused_at": c.paused_at,
                    "stopped_at": c.stopped_at,
                    "warned": marks[c.name].get("warned", False),
                    "breached": marks[c.name].get("breached", False)} for c in clocks.values()],
        "must_act_now": [{"party": d.party.value, "action": d.action, "due_at": d.due_at,
                          "clock": d.clock, "overdue": d.overdue, "text_en": d.text_en,
                          "text_zh": d.text_zh} for d in duties(status=status, clocks=clocks.values(), at=at)],
        "allowed_next_states": list(allowed_targets(status=status, at=at, reopen_window=rules.reopen_window)),
        "history": [{k: v for k, v in h.items()} for h in doc.get("history", [])],
        "version": doc["version"],
    })


def _evidence(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Evidence's latest assessment, each missing piece named in both languages (None before any)."""
    seen = doc.get("evidence_assessment")
    if not seen:
        return None
    return {"score": seen.get("score"), "assessed_at": seen.get("assessed_at"), "flags": list(seen.get("flags", [])),
            "missing": [m.model_dump() for m in missing_pieces(seen.get("missing", []))],
            "findings": list(seen.get("findings", [])),
            "merchant_missing": [m.model_dump() for m in missing_pieces(seen.get("merchant_missing", []))],
            "merchant_burden_met": seen.get("merchant_burden_met")}
