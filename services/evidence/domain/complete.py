"""Completeness: score a complaint's evidence against its category and say what to add."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from .errors import EvidenceRuleError
from .kinds import SubmittedEvidence
from .requirements import RULES, ChannelFacts, ComplaintCategory, Requirement


class MissingPiece(BaseModel):
    """A piece the chain lacks, in both languages."""

    model_config = ConfigDict(frozen=True)

    code: str
    en: str
    zh: str


class CompletenessResult(BaseModel):
    """Score 0..100 over the required pieces, what is missing, and what to tell the complainant."""

    model_config = ConfigDict(frozen=True)

    category: ComplaintCategory
    score: int
    missing: list[MissingPiece]
    recommended: list[MissingPiece]
    guidance_en: str
    guidance_zh: str


def parse_category(*, category: str) -> ComplaintCategory:
    """Return the category or raise EvidenceRuleError listing the known ones."""
    try:
        return ComplaintCategory(category.strip().lower())
    except ValueError:
        known = ", ".join(c.value for c in ComplaintCategory)
        raise EvidenceRuleError(field="category", rule="known_category",
                                message=f"unknown category '{category}'; use one of: {known}",
                                message_zh=f"未知的投诉类别“{category}”，可选：{known}") from None


def _piece(req: Requirement) -> MissingPiece:
    return MissingPiece(code=req.code, en=req.en, zh=req.zh)


def check_completeness(*, category: str, items: Sequence[SubmittedEvidence],
                       channel: ChannelFacts | None = None) -> CompletenessResult:
    """Check the items (and the channel's own record of the order, when one arrived) against the
    category's required pieces: order, payment, goods, problem."""
    cat = parse_category(category=category)
    rule = RULES[cat]
    lacking = [r for r in rule.required if not r.met(items=items, channel=channel)]
    extra = [r for r in rule.recommended if not r.met(items=items, channel=channel)]
    score = round(100 * (len(rule.required) - len(lacking)) / len(rule.required))
    if not lacking:
        en = f"Your evidence for '{rule.name_en}' is complete."
        zh = f"“{rule.name_zh}”类投诉的证据已齐全。"
    else:
        en = f"To complete your evidence for '{rule.name_en}', please add:"
        zh = f"要完善“{rule.name_zh}”类投诉的证据，请补充："
        for n, req in enumerate(lacking, start=1):
            en += f"\n{n}. {req.en[0].upper()}{req.en[1:]}."
            zh += f"\n{n}. {req.zh}。"
            if req.near_miss is not None and any(req.near_miss(i) for i in items):
                en += f" {req.hint_en}"
                zh += req.hint_zh
    if extra:
        en += "\nAlso helpful: " + "; ".join(r.en for r in extra) + "."
        zh += "\n建议同时提供：" + "；".join(r.zh for r in extra) + "。"
    return CompletenessResult(category=cat, score=score, missing=[_piece(r) for r in lacking],
                              recommended=[_piece(r) for r in extra], guidance_en=en,
                              guidance_zh=zh)
