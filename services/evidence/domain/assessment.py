"""The three tests every evidence chain must pass: authentic, relevant, complete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from .authentic import AuthenticityFlag, check_authenticity
from .complete import CompletenessResult, check_completeness
from .kinds import EvidenceFields, EvidenceKind, SubmittedEvidence
from .relevant import DEFAULT_WINDOW, ComplaintOrder, Mismatch, check_relevance

__all__ = ["AssessmentResult", "ItemAssessment", "ItemToAssess", "assess",
           "check_authenticity", "check_completeness", "check_relevance"]


@dataclass(frozen=True)
class ItemToAssess:
    """One stored item: its number in the complaint (证据n), kind, fields and content."""

    item_id: str
    number: int
    kind: EvidenceKind
    fields: EvidenceFields | None
    mime: str
    stream: BinaryIO | None = None


class ItemAssessment(BaseModel):
    """Authenticity flags and relevance mismatches of one item."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    number: int
    flags: list[AuthenticityFlag]
    mismatches: list[Mismatch]


class AssessmentResult(BaseModel):
    """The whole chain's verdict; an agent decides on flags, nothing here refuses."""

    model_config = ConfigDict(frozen=True)

    completeness: CompletenessResult
    items: list[ItemAssessment]

    @property
    def flagged(self) -> bool:
        """True when any item has a flag or a mismatch."""
        return any(i.flags or i.mismatches for i in self.items)


def assess(*, category: str, order: ComplaintOrder, filed_at: datetime,
           items: Sequence[ItemToAssess], window: timedelta = DEFAULT_WINDOW) -> AssessmentResult:
    """Run the three tests; items that point at another order do not count towards completeness."""
    results = []
    for item in items:
        flags = ([] if item.stream is None else
                 check_authenticity(stream=item.stream, mime=item.mime, filed_at=filed_at))
        mismatches = check_relevance(fields=item.fields, order=order, window=window)
        results.append(ItemAssessment(item_id=item.item_id, number=item.number, flags=flags,
                                      mismatches=mismatches))
    relevant = [SubmittedEvidence(kind=i.kind, fields=i.fields)
                for i, r in zip(items, results, strict=True) if not r.mismatches]
    completeness = check_completeness(category=category, items=relevant)
    notes_en = [f"Evidence {r.number} does not match the order: "
                + "; ".join(m.message for m in r.mismatches) + "." for r in results if r.mismatches]
    notes_zh = [f"证据{r.number}与订单不符：" + "；".join(m.message_zh for m in r.mismatches) + "。"
                for r in results if r.mismatches]
    if notes_en:
        completeness = completeness.model_copy(update={
            "guidance_en": "\n".join([completeness.guidance_en, *notes_en]),
            "guidance_zh": "\n".join([completeness.guidance_zh, *notes_zh])})
    return AssessmentResult(completeness=completeness, items=results)
