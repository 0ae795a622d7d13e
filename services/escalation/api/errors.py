"""How refusals answer over HTTP: 403, 404, 409 and 422 with English and Chinese messages.

Malformed requests get the shared field-error answer (shared/openapi.py)."""

from __future__ import annotations

from fastapi import HTTPException

from services.escalation.domain.actions import ActionInvalid, ActionNotPermitted, IllegalTransition
from services.escalation.domain.evidence_gate import EvidenceMissing
from services.escalation.repository.cases import CaseChanged
from services.escalation.service.acting import TierRefused
from shared.openapi import field_refusal


def not_found(ticket: str) -> HTTPException:
    """No such case in the caller's scope."""
    return HTTPException(status_code=404, detail={
        "message": f"no case {ticket}", "message_zh": f"未找到投诉案件 {ticket}"})


def refusal(exc: Exception) -> HTTPException:
    """The HTTP answer for a domain refusal."""
    if isinstance(exc, ActionNotPermitted):
        return HTTPException(status_code=403, detail={
            "rule": "not_permitted", "action": exc.action.value, "actor": exc.actor.value,
            "permitted": [p.value for p in exc.permitted], "message": str(exc),
            "message_zh": "您无权对该案件执行此操作"})
    if isinstance(exc, IllegalTransition):
        return HTTPException(status_code=409, detail={
            "rule": "illegal_transition", "state": exc.state.value, "action": exc.action.value,
            "allowed": [s.value for s in exc.allowed], "message": str(exc),
            "message_zh": f"案件当前状态（{exc.state.value}）不允许此操作"})
    if isinstance(exc, TierRefused):
        c = exc.check
        return HTTPException(status_code=409, detail={
            "rule": "tier_guard", "tier": c.tier.value, "missing": list(c.missing),
            "message": c.text_en, "message_zh": c.text_zh})
    if isinstance(exc, EvidenceMissing):
        return HTTPException(status_code=409, detail={
            # Each missing piece is a field error of its own (field, rule, message_en, message_zh).
            "rule": "evidence_missing", "errors": [m.model_dump() for m in exc.missing],
            "missing": [m.field for m in exc.missing],
            "items": [m.model_dump() for m in exc.missing], "override_field": "override_missing_evidence",
            "message": exc.text_en, "message_en": exc.text_en, "message_zh": exc.text_zh})
    if isinstance(exc, CaseChanged):
        return HTTPException(status_code=409, headers={"Retry-After": "1"}, detail={
            "rule": "concurrent_change", "message": "the case changed meanwhile; read it and retry",
            "message_zh": "案件刚刚发生变化，请刷新后重试"})
    if isinstance(exc, ActionInvalid):
        return field_refusal(field=exc.field, rule=exc.rule, en=str(exc),
                             zh=f"字段 {exc.field} 不符合要求：{exc.rule}")
    raise exc
