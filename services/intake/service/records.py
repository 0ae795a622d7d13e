"""From a validated request to the stored complaint, and from the stored complaint to its events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from services.intake.domain.classify import Classification
from services.intake.domain.priority import PriorityDecision
from services.intake.domain.references import scrub_keeping_references as scrub
from services.intake.domain.schemas import NewComplaint
from services.intake.models import Complaint, TimelineEntry
from shared.contracts.complaints import (
    AccountFreezeRequested,
    Complainant,
    ComplaintFiled,
    OrderSummary,
    Party,
)
from shared.envelope import new_id
from shared.money import Money
from shared.telemetry import current_trace_id

_HAN = re.compile(r"[\u3400-\u9fff]")


def guess_language(*, text: str) -> str:
    """zh-CN when the text has Chinese characters, else en."""
    return "zh-CN" if _HAN.search(text) else "en"


def build_complaint(
    *, request: NewComplaint, ticket: str, now: datetime, category: Classification,
    priority: PriorityDecision, digest: str, filed_by: dict[str, Any], source: str,
    platform_reference: str | None = None, demand: dict[str, Any] | None = None,
) -> Complaint:
    """The complaint document of a validated request, numbered and classified."""
    person, order, description = request.complainant, request.order, request.description
    language = person.language or guess_language(text=description.what_happened)
    return Complaint(
        id=new_id(), ticket=ticket, status="filed",
        category=category.category.value, category_inferred=category.inferred,
        category_confidence=category.confidence, category_keywords=list(category.keywords),
        priority=priority.priority.value, priority_reasons=list(priority.reasons),
        platform=request.platform, merchant=request.merchant.model_dump(mode="json"),
        complainant={"id": person.id, "display_name": person.display_name, "language": language,
                     "contact": person.contact.model_dump(mode="json")},
        order={**order.model_dump(mode="json"), "paid_at": order.paid_at},
        description={**description.model_dump(mode="json"), "occurred_at": description.occurred_at,
                     "discovered_at": description.discovered_at},
        demand=demand if demand is not None else request.demand.model_dump(mode="json"), statements=[], withdrawal={},
        dedup_digest=digest, source=source, platform_reference=platform_reference,
        filed_by=filed_by, filed_at=now, updated_at=now, trace_id=current_trace_id(),
        timeline=[TimelineEntry(event_id=new_id(), at=now, service="intake", step="filed",
                                actor=filer(filed_by), detail={"category": category.category.value,
                                                               "inferred": category.inferred,
                                        "priority": priority.priority.value, "source": source})],
    )


def filer(filed_by: dict[str, Any]) -> dict[str, Any]:
    """Who filed, as a timeline actor: the complainant, an agent, or a platform's partner (Kafka)."""
    return {"role": filed_by.get("role") or "system", "id": filed_by.get("subject")}


def filed_event(complaint: Complaint) -> ComplaintFiled:
    """The ComplaintFiled event of a stored complaint."""
    order, person = complaint.order, complaint.complainant
    return ComplaintFiled(
        complaint_id=complaint.id, ticket=complaint.ticket, occurred_at=complaint.filed_at,
        platform=complaint.platform, merchant=Party(**complaint.merchant),
        complainant=Complainant(id=person["id"], display_name=person["display_name"],
                                phone=person["contact"].get("phone"), email=person["contact"].get("email"),
                                language=person["language"]),
        category=complaint.category, category_inferred=complaint.category_inferred,
        category_confidence=complaint.category_confidence, priority=complaint.priority,
        priority_reasons=list(complaint.priority_reasons),
        order=OrderSummary(
            order_number=order["number"], item=order["item"],
            amount=Money(amount_minor=order["amount"], currency=order["currency"]),
            paid_at=order["paid_at"], payment_channel=order["channel"],
            payment_transaction_id=order.get("transaction_id"),
            denomination=order.get("denomination"), quantity=order.get("quantity", 1),
        ),
        demand=complaint.demand, filed_at=complaint.filed_at,
        description=scrub(complaint.description.get("what_happened", "")),
        incident_at=complaint.description.get("occurred_at"),
        discovered_at=complaint.description.get("discovered_at"),
        source=complaint.source, platform_reference=complaint.platform_reference,
    )


def freeze_event(complaint: Complaint) -> AccountFreezeRequested:
    """The urgent freeze request for an unauthorized charge (no card or phone numbers in it)."""
    order = complaint.order
    return AccountFreezeRequested(
        complaint_id=complaint.id, ticket=complaint.ticket, platform=complaint.platform,
        payment_channel=order["channel"],
        reason=f"unauthorized charge reported on order {order['number']} "
               f"({Money(amount_minor=order['amount'], currency=order['currency'])})",
    )
