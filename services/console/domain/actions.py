"""Which actions the console offers on a case now, to whom, and what each one's form asks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FINISHED = frozenset({"resolved", "closed", "withdrawn"})
WAITING_ON_COMPLAINANT = ("awaiting_evidence", "resolution_proposed")
TIER_STATES = ("platform_arbitration", "payment_channel_dispute", "external", "legal")
ACTIVE = ("filed", "acknowledged", "awaiting_evidence", "in_review", "awaiting_merchant", "resolution_proposed",
          *TIER_STATES)
#: Evidence an agent may ask for (escalation's requirement codes).
REQUESTABLE = ("channel_notice", "payment_proof", "order_record", "problem_proof", "communication_log",
               "police_receipt", "freeze_report", "other")
OUTCOMES = ("refund", "partial_refund", "reissue", "compensation", "unfreeze", "rejected", "fraud_triple")
TIERS = ("internal", "platform", "payment_channel", "external", "legal")


@dataclass(frozen=True)
class Offered:
    """One action offered now, with the fields its form asks for."""

    action: str
    fields: tuple[str, ...] = ()


def agent_actions(*, case: Mapping[str, Any], me: str) -> list[Offered]:
    """The agent's actions allowed in the case's state (escalation still decides; this hides the rest)."""
    state, allowed = case["state"], set(case.get("allowed_next_states", []))
    offered: list[Offered] = []
    if state not in FINISHED:
        if case.get("assigned_agent") != me:
            offered.append(Offered("assign"))
        if state in ("filed", "acknowledged"):
            offered.append(Offered("respond", ("reason",)))
        if "awaiting_merchant" in allowed:
            offered.append(Offered("forward_to_merchant", ("reason",)))
        if state not in WAITING_ON_COMPLAINANT:
            offered.append(Offered("request_evidence", ("items", "reason")))
        if state != "resolution_proposed":
            offered.append(Offered("propose_resolution", ("outcome", "reason", "override")))
        offered.append(Offered("escalate", ("target", "reason")))
        offered.append(Offered("resolve", ("outcome", "reason", "override")))
    if "closed" in allowed:
        offered.append(Offered("close", ("reason",)))
    if state in FINISHED and "in_review" in allowed:
        offered.append(Offered("reopen", ("reason",)))
    freeze = case.get("account_freeze") or {}
    if freeze.get("requested") and not freeze.get("confirmed"):
        offered.append(Offered("confirm_freeze", ("reason",)))
    return offered


def complainant_actions(*, case: Mapping[str, Any]) -> list[Offered]:
    """What the complainant may do on the status page now."""
    state = case["state"]
    offered: list[Offered] = []
    if state == "resolution_proposed":
        offered += [Offered("accept_resolution"), Offered("reject_resolution", ("reason",))]
    if state not in FINISHED:
        offered.append(Offered("withdraw", ("reason",)))
    return offered


def action_body(*, action: str, form: Mapping[str, Any], items: list[str], me: str) -> dict[str, Any]:
    """The API body of an action from its submitted form (only the fields the action reads)."""
    reason = str(form.get("reason", "")).strip()
    body: dict[str, Any] = {"reason": reason} if reason else {}
    if action == "assign":
        body["agent_id"] = me
    if action == "request_evidence":
        body["items"] = [i for i in items if i in REQUESTABLE]
    if action in ("propose_resolution", "resolve"):
        body["resolution"] = {"outcome": str(form.get("outcome") or "refund")}
        override = str(form.get("override", "")).strip()
        if override:
            body["override_missing_evidence"] = {"reason": override}
    if action == "escalate" and form.get("target"):
        body["target"] = str(form["target"])
    return body
