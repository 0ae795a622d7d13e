"""Who may do what with a complaint's evidence: complainant, agents, merchants, partners."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.evidence.domain.errors import NotAllowedError
from services.evidence.domain.kinds import EvidenceKind
from services.evidence.models import EvidenceFile
from shared.auth import Principal, Role

#: A merchant may contest a complaint with these kinds, never with the buyer's own proofs; its
#: delivery record and licence source are what its burden of proof asks for (002, 004).
MERCHANT_KINDS = frozenset({EvidenceKind.MERCHANT_IDENTITY, EvidenceKind.COMMUNICATION_LOG,
                            EvidenceKind.PLATFORM_RULE, EvidenceKind.LISTING_SNAPSHOT,
                            EvidenceKind.DELIVERY_RECORD, EvidenceKind.LICENCE_SOURCE,
                            EvidenceKind.OTHER})


def in_scope(*, principal: Principal, evidence_file: EvidenceFile) -> bool:
    """Tell whether the caller may know the complaint exists (else it answers 404)."""
    same_platform = principal.platform == evidence_file.platform
    if principal.ticket and principal.ticket != evidence_file.ticket:
        return False  # a status link's token: its one complaint only
    if principal.role is Role.COMPLAINANT:
        return (principal.subject == evidence_file.complainant_id
                and principal.platform in (None, evidence_file.platform))
    if principal.role is Role.MERCHANT:
        return same_platform and principal.merchant_id == evidence_file.merchant_id
    return principal.role is Role.AGENT and same_platform


def check_submit(*, principal: Principal, kind: EvidenceKind) -> None:
    """Refuse a merchant's attempt to submit a kind only the complainant's side submits."""
    if principal.role is Role.MERCHANT and kind not in MERCHANT_KINDS:
        allowed = ", ".join(sorted(k.value for k in MERCHANT_KINDS))
        raise NotAllowedError(field="kind", rule="merchant_kinds",
                              message=f"a merchant may submit only: {allowed}",
                              message_zh=f"商家只能提交以下类型的证据：{allowed}")


def visible(*, principal: Principal, items: Iterable[Any]) -> list[Any]:
    """The items the caller may see: merchants see only what their side submitted."""
    if principal.role is not Role.MERCHANT:
        return list(items)
    return [i for i in items if i.submitted_by.get("role") == Role.MERCHANT.value
            and i.submitted_by.get("merchant_id") == principal.merchant_id]


def check_assessment_reader(*, principal: Principal) -> None:
    """The complainant and agents read the whole verdict, the merchant its own side of it."""
    if principal.role not in (Role.COMPLAINANT, Role.AGENT, Role.MERCHANT):
        raise NotAllowedError(field="role", rule="party_to_complaint",
                              message="only the parties and the platform's agents may read the "
                                      "assessment", message_zh="只有投诉双方和平台客服可以查看证据评估")


def check_staff_or_owner(*, principal: Principal, action: str) -> None:
    """Dossiers and card-key checks are for the complainant and the platform's agents."""
    if principal.role not in (Role.COMPLAINANT, Role.AGENT):
        raise NotAllowedError(field="role", rule="complainant_or_agent",
                              message=f"only the complainant or an agent may {action}",
                              message_zh="只有投诉人或平台客服可以执行此操作")
