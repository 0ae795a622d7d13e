"""The three tests every evidence chain must pass: authentic, relevant, complete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from .authentic import AuthenticityFlag, check_authenticity
from .burden import MerchantSide, merchant_side
from .complete import CompletenessResult, check_completeness
from .findings import Finding, findings_of
from .kinds import EvidenceFields, EvidenceKind, SubmittedEvidence
from .relevant import DEFAULT_WINDOW, ComplaintOrder, Mismatch, check_relevance
from .requirements import ChannelFacts

__all__ = ["AssessmentResult", "ChannelFacts", "ItemAssessment", "ItemToAssess", "assess",
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
    by_merchant: bool = False  # submitted by the merchant: its side of the burden
    card_key_status: str | None = None  # the issuer's answer, when the item's key was checked
    card_key_last4: str | None = None


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
    merchant: MerchantSide
    findings: list[Finding] = []

    @property
    def flagged(self) -> bool:
        """True when any item has a flag or a mismatch."""
        return any(i.flags or i.mismatches for i in self.items)


def assess(*, category: str, order: ComplaintOrder, filed_at: datetime,
           items: Sequence[ItemToAssess], window: timedelta = DEFAULT_WINDOW,
           channel: ChannelFacts | None = None, software_licence: bool = False) -> AssessmentResult:
    """Run the three tests; items that point at another order do not count towards completeness.

    The channel's own record of the order counts where the seeds ask for the channel's word; the
    merchant's own items are judged against its burden of proving delivery."""
    results = []
    for item in items:
        flags = ([] if item.stream is None else
                 check_authenticity(stream=item.stream, mime=item.mime, filed_at=filed_at))
        mismatches = check_relevance(fields=item.fields, order=order, window=window)
        results.append(ItemAssessment(item_id=item.item_id, number=item.number, flags=flags,
                                      mismatches=mismatches))
    fitting = [i for i, r in zip(items, results, strict=True) if not r.mismatches]
    relevant = [SubmittedEvidence(kind=i.kind, fields=i.fields, card_key_status=i.card_key_status)
                for i in fitting]
    completeness = check_completeness(category=category, items=relevant, channel=channel)
    merchant = merchant_side(category=category, software_licence=software_licence, items=[
        (i.number, SubmittedEvidence(kind=i.kind, fields=i.fields)) for i in fitting
        if i.by_merchant])
    findings = findings_of(channel=channel, checked=[
        (i.number, i.card_key_status, i.card_key_last4) for i in items if i.card_key_status])
    notes_en = [f"Evidence {r.number} does not match the order: "
                + "; ".join(m.message for m in r.mismatches) + "." for r in results if r.mismatches]
    notes_zh = [f"证据{r.number}与订单不符：" + "；".join(m.message_zh for m in r.mismatches) + "。"
                for r in results if r.mismatches]
    if notes_en:
        completeness = completeness.model_copy(update={
            "guidance_en": "\n".join([completeness.guidance_en, *notes_en]),
            "guidance_zh": "\n".join([completeness.guidance_zh, *notes_zh])})
    return AssessmentResult(completeness=completeness, items=results, merchant=merchant,
                            findings=findings)
