"""What the chaos run checks afterwards: each complaint's final state, no timeline entry or case action
twice, and every notification seen once by the party that receives it."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.contracts import public
from tests.support.chaos_driver import Plan
from tests.support.webhook_receiver import ReceivedRequest

STATUS_STEPS: dict[Plan, tuple[str, ...]] = {
    Plan.ACKNOWLEDGED: ("acknowledged",),
    Plan.CLOSED: ("acknowledged", "resolution_proposed", "resolved", "closed"),
    Plan.WITHDRAWN: ("acknowledged", "withdrawn"),
}
HISTORY: dict[Plan, tuple[str, ...]] = {
    Plan.ACKNOWLEDGED: ("open",),
    Plan.CLOSED: ("open", "propose_resolution", "accept_resolution", "close"),
    Plan.WITHDRAWN: ("open", "withdraw"),
}
ONCE = (("intake", "filed"), ("evidence", "evidence_file_opened"), ("escalation", "case_opened"))
_PEOPLE = (("notified_complainant", "in_app"), ("notified_merchant", "in_app"))
_PARTNER = ("notified_partner", "webhook")

Kind = tuple[str, str | None]


def expected_notices(plan: Plan) -> Counter[tuple[str, str, str]]:
    """Notify's steps on the timeline, (step, channel, about), and how many of each.

    With no mail or SMS server set, people read their in-app inbox and the platform's partner gets a
    webhook; the acknowledgement is told to the partner only (people heard it with the filing)."""
    told: Counter[tuple[str, str, str]] = Counter()

    def tell(about: str, to: Iterable[tuple[str, str]] = (*_PEOPLE, _PARTNER)) -> None:
        for step, channel in to:
            told[(step, channel, about)] += 1

    tell("ComplaintFiled")
    for state in STATUS_STEPS[plan]:
        tell("ComplaintStatusChanged", to=[_PARTNER] if state == "acknowledged" else (*_PEOPLE, _PARTNER))
    if plan is Plan.CLOSED:
        tell("ResolutionProposed")
    if plan is Plan.WITHDRAWN:
        tell("ComplaintWithdrawn", to=_PEOPLE[:1])
    return told


def expected_webhooks(plan: Plan) -> set[Kind]:
    """What the partner's endpoint hears about one complaint: (public event type, new state); a closing
    or a withdrawal is told under its own type (issue 23)."""
    kinds: set[Kind] = {(public.COMPLAINT_FILED, None)} | {
        (public.public_type("ComplaintStatusChanged", to_state=s) or "", s) for s in STATUS_STEPS[plan]}
    return kinds | ({(public.RESOLUTION_PROPOSED, None)} if plan is Plan.CLOSED else set())


@dataclass
class Verdict:
    """What is wrong with one complaint: doubled never heals, missing may still arrive."""

    doubled: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.doubled or self.wrong or self.missing)


def _compare(verdict: Verdict, what: str, got: Counter[Any], want: Counter[Any]) -> None:
    for key in sorted(set(got) | set(want), key=str):
        if got[key] > want[key]:
            (verdict.doubled if want[key] else verdict.wrong).append(f"{what} {key} x{got[key]} (want {want[key]})")
        elif got[key] < want[key]:
            verdict.missing.append(f"{what} {key} x{got[key]} (want {want[key]})")


def check_complaint(*, plan: Plan, complaint: dict[str, Any], case: dict[str, Any],
                    evidence_status: str | None) -> Verdict:
    """The complaint (intake), its case (escalation) and its evidence file against the plan."""
    verdict = Verdict()
    if complaint["status"] != plan:
        verdict.missing.append(f"status {complaint['status']} (want {plan})")
    if case["state"] != plan:
        verdict.missing.append(f"case state {case['state']} (want {plan})")
    if plan is not Plan.ACKNOWLEDGED and evidence_status != plan:
        verdict.missing.append(f"evidence file {evidence_status} (want {plan})")
    timeline = complaint["timeline"]
    once = Counter({key: 1 for key in ONCE} | ({("intake", "withdrawn"): 1} if plan is Plan.WITHDRAWN else {}))
    _compare(verdict, "step", Counter((e["service"], e["step"]) for e in timeline
                                      if e["service"] != "notify" and not e["step"].startswith("status_")), once)
    _compare(verdict, "status step", Counter(e["step"].removeprefix("status_") for e in timeline
                                             if e["service"] == "escalation" and e["step"].startswith("status_")),
             Counter(STATUS_STEPS[plan]))
    _compare(verdict, "notice", Counter((e["step"], e["detail"].get("channel"), e["detail"].get("about"))
                                        for e in timeline if e["service"] == "notify"), expected_notices(plan))
    _compare(verdict, "case action", Counter(h["action"] for h in case["history"]), Counter(HISTORY[plan]))
    return verdict


@dataclass
class Ledger:
    """What one receiving party saw: per ticket, per kind of notification, each message id and its copies."""

    seen: dict[str, dict[Any, Counter[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))

    def add(self, *, ticket: str, kind: Any, message_id: str) -> None:
        self.seen[ticket][kind][message_id] += 1

    @property
    def messages(self) -> int:
        return sum(sum(ids.values()) for kinds in self.seen.values() for ids in kinds.values())

    @property
    def resent(self) -> int:
        """Copies of a message id already received (at-least-once sends cut by a kill)."""
        return sum(n - 1 for kinds in self.seen.values() for ids in kinds.values() for n in ids.values())

    def doubled(self) -> list[str]:
        """Notifications that arrived under two different message ids: the receiver cannot fold them."""
        return [f"{ticket} {kind}: {sorted(ids)}" for ticket, kinds in sorted(self.seen.items())
                for kind, ids in kinds.items() if len(ids) > 1]


def webhook_ledger(requests: Iterable[ReceivedRequest]) -> Ledger:
    """Webhooks by ticket and (event type, new state), keyed by their webhook-id."""
    ledger = Ledger()
    for request in requests:
        if request.answered >= 300:
            continue
        body = json.loads(request.body)
        ledger.add(ticket=body["data"]["ticket"], kind=(body["type"], body["data"].get("to_state")),
                   message_id=request.headers["webhook-id"])
    return ledger

