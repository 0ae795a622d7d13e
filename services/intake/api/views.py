"""What callers see of a complaint: contact masked for everyone but the complainant."""

from __future__ import annotations

from typing import Any

from services.intake.domain.references import scrub_deep_keeping_references
from services.intake.models import Complaint
from shared.auth import Principal, can_see, sees_contact
from shared.masking import mask_email, mask_phone


def scope_document(complaint: Complaint) -> dict[str, Any]:
    """The parts of a complaint the role scopes are decided on."""
    return {"platform": complaint.platform, "merchant": complaint.merchant, "complainant": complaint.complainant,
            "ticket": complaint.ticket}


def visible(*, principal: Principal, complaint: Complaint | None) -> bool:
    """Tell whether the caller may see the complaint (callers answer 404 otherwise)."""
    return complaint is not None and can_see(principal=principal, complaint=scope_document(complaint))


def filed_by(principal: Principal) -> dict[str, Any]:
    """Who filed, as recorded on the complaint."""
    return {"subject": principal.subject, "role": principal.role.value, "platform": principal.platform,
            "merchant_id": principal.merchant_id}


def complaint_view(complaint: Complaint, *, principal: Principal, timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """The complaint for this caller: status, timeline, statements; contact and secrets masked unless theirs.

    `timeline` is every step on it, oldest first (`service.steps_of`); it is also when the complaint
    last changed, if a step came after intake's own last change.
    """
    person = dict(complaint.complainant)
    contact = dict(person.get("contact") or {})
    owner = sees_contact(principal=principal, complaint=scope_document(complaint))
    if not owner:
        contact = {"phone": mask_phone(contact.get("phone")), "email": mask_email(contact.get("email"))}
    person["contact"] = {k: v for k, v in contact.items() if v is not None}
    view = {
        # The complaint id: the key of its records on the public topics and the subject of its CloudEvents.
        "id": complaint.id, "ticket": complaint.ticket, "status": complaint.status, "tier": complaint.tier,
        "category": complaint.category, "category_inferred": complaint.category_inferred,
        "category_confidence": complaint.category_confidence, "priority": complaint.priority,
        "priority_reasons": list(complaint.priority_reasons), "platform": complaint.platform,
        "merchant": complaint.merchant, "complainant": person, "order": complaint.order,
        "description": {k: v for k, v in complaint.description.items() if v is not None},
        "demand": complaint.demand,
        "statements": [{k: s.get(k) for k in ("number", "text", "occurred_at", "added_at")}
                       for s in complaint.statements],
        "withdrawal": complaint.withdrawal or None, "source": complaint.source,
        "filed_at": complaint.filed_at, "trace_id": complaint.trace_id,
        "updated_at": max([complaint.updated_at, *(e["at"] for e in timeline)]),
        "timeline": [{"at": e["at"], "service": e["service"], "step": e["step"], "detail": e.get("detail") or {},
                      "actor": actor_of(e, complaint)} for e in timeline],
    }
    # Free text may hold card keys, card numbers or passwords the buyer typed: only they see it whole.
    # The system's own ids (complaint, trace) and the references regulators and channels gave (12315
    # 受理号, dispute numbers) come back whole either way (see domain/references.py).
    if owner:
        return view
    shown = scrub_deep_keeping_references(view)
    shown["id"] = complaint.id  # the system's own id, whole as `complaint_id` is (shared.masking.SYSTEM_IDS)
    return shown


def actor_of(entry: dict[str, Any], complaint: Complaint) -> dict[str, Any]:
    """Who took the step: as recorded, or for entries stored before actors were, as the step implies."""
    if entry.get("actor"):
        return {"role": entry["actor"].get("role") or "system", "id": entry["actor"].get("id")}
    detail, service = entry.get("detail") or {}, entry["service"]
    if service != "intake":
        return {"role": "system", "id": service}
    if entry["step"] == "filed":
        by = complaint.filed_by or {}
        return {"role": by.get("role") or "complainant", "id": by.get("subject") or complaint.complainant["id"]}
    if entry["step"] == "category_corrected":
        return {"role": "agent", "id": detail.get("by")}
    return {"role": "complainant", "id": complaint.complainant["id"]}


def summary_view(complaint: Complaint) -> dict[str, Any]:
    """One line of a listing (no contact details at all)."""
    return {
        "id": complaint.id, "ticket": complaint.ticket, "status": complaint.status, "category": complaint.category,
        "priority": complaint.priority, "platform": complaint.platform, "merchant": complaint.merchant,
        "complainant": {"id": complaint.complainant["id"], "display_name": complaint.complainant["display_name"]},
        "order": {k: complaint.order.get(k) for k in ("number", "item", "amount", "currency")},
        "filed_at": complaint.filed_at, "updated_at": complaint.updated_at,
    }
