"""How evidence refusals become HTTP answers (problem details, shared.problems): status by rule,
field and rule named in `errors`, zh and en."""

from __future__ import annotations

from fastapi import HTTPException

from services.evidence.domain.errors import (
    ComplaintBudgetError,
    ComplaintClosedError,
    EvidenceRuleError,
    FieldsError,
    FileTooLargeError,
    FileTypeError,
    NotAllowedError,
)
from services.evidence.service.files import EvidenceNotFound

_STATUS: tuple[tuple[type[EvidenceRuleError], int], ...] = (
    (FileTypeError, 415), (FileTooLargeError, 413), (ComplaintBudgetError, 413),
    (ComplaintClosedError, 409), (NotAllowedError, 403))


def refusal(exc: EvidenceRuleError) -> HTTPException:
    """The HTTP error of a rule the caller broke; field errors list each problem."""
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 422)
    detail: dict[str, object] = {**exc.as_dict()}
    if isinstance(exc, FieldsError):
        detail["errors"] = [p.as_dict() for p in exc.problems]
    return HTTPException(status_code=status, detail=detail)


def not_found(exc: EvidenceNotFound) -> HTTPException:
    """404 for a ticket or item outside the caller's scope as much as for one that does not exist."""
    return HTTPException(status_code=404, detail={
        "field": "ticket", "rule": "known_complaint",
        "message": f"no complaint or evidence {exc.args[0]} that you may see",
        "message_zh": "找不到该投诉或证据，或您无权查看"})
