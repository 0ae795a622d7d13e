"""Card-key re-validation: ask the issuer, keep the key encrypted, publish only its last 4."""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import timedelta
from typing import Any

from services.evidence.adapters.card_issuer import HttpCardKeyIssuer
from services.evidence.config import EvidenceSettings
from services.evidence.domain.cardkeys import CardKeyVault, mask_key
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.models import EvidenceItem, StoredCardKey
from services.evidence.repository import items, records
from services.evidence.service import access
from services.evidence.service.assessing import reassess
from services.evidence.service.files import EvidenceNotFound, find_file
from shared.auth import Principal
from shared.contracts.evidence import CardKeyChecked
from shared.envelope import new_id, utcnow
from shared.outbox import emit
from shared.store import UnitOfWork


class IssuerNotConfigured(RuntimeError):
    """No issuer URL is set, so keys cannot be re-validated here."""


def parse_request(*, body: Any) -> tuple[str, str]:
    """The card key and issuer reference of a request; the key is never echoed in an error."""
    data = body if isinstance(body, dict) else {}
    key, ref = data.get("card_key"), data.get("issuer_ref", "")
    if not isinstance(key, str) or not 4 <= len(key.strip()) <= 256 or any(
            unicodedata.category(ch) in ("Cc", "Cf") for ch in key):
        raise EvidenceRuleError(field="card_key", rule="card_key_text",
                                message="give the full card key as text of 4 to 256 characters",
                                message_zh="请以 4 至 256 个字符的文本提交完整卡密")
    if not isinstance(ref, str) or len(ref) > 128:
        raise EvidenceRuleError(field="issuer_ref", rule="short_text",
                                message="must be text of at most 128 characters",
                                message_zh="发卡方编号必须是不超过 128 个字符的文本")
    return key.strip(), ref


def _item(principal: Principal, ticket: str, evidence_id: str) -> EvidenceItem:
    evidence_file = find_file(principal=principal, ticket=ticket)
    access.check_staff_or_owner(principal=principal, action="re-validate a card key")
    item = items.get_item(complaint_id=evidence_file.id, item_id=evidence_id)
    if item is None:
        raise EvidenceNotFound(evidence_id)
    return item


def _store(uow: UnitOfWork, *, item: EvidenceItem, token: str, last4: str, ref: str, status: str,
           topic: str, window: timedelta) -> None:
    checked = {"key_last4": last4, "status": status, "issuer_ref": ref, "checked_at": utcnow()}

    def work(tx: UnitOfWork) -> None:
        records.create_card_key(tx, card_key=StoredCardKey(
            id=new_id(), item_id=item.id, issuer_ref=ref, token=token, last4=last4, status=status,
            checked_at=checked["checked_at"]))
        items.update_card_key_check(tx, item_id=item.id, check=checked)
        # The issuer's answer counts in the verdict (a key reported used is the failure itself).
        assessed = reassess(tx, complaint_id=item.complaint_id, window=window)
        emit(tx, topic=topic, messages=[CardKeyChecked(
            complaint_id=item.complaint_id, ticket=item.ticket, evidence_id=item.id,
            key_last4=last4, status=status), *([assessed] if assessed else [])])

    uow.transaction(work)


async def check_card_key(uow: UnitOfWork, *, settings: EvidenceSettings, principal: Principal, ticket: str,
                         evidence_id: str, body: Any) -> dict[str, Any]:
    """Re-validate a key against the issuer for one item; return the masked answer."""
    # The scope first: a stranger learns nothing from how the body would have been judged.
    item = await asyncio.to_thread(_item, principal, ticket, evidence_id)
    key, ref = parse_request(body=body)
    if not settings.card_key_issuer_url:
        raise IssuerNotConfigured("card-key re-validation needs EVIDENCE_CARD_KEY_ISSUER_URL")
    issuer = HttpCardKeyIssuer(base_url=settings.card_key_issuer_url,
                               timeout_s=settings.card_key_timeout_s,
                               retries=settings.card_key_retries,
                               backoff_s=settings.card_key_backoff_s)
    try:
        status = await issuer.check(issuer_ref=ref, card_key=key)
    finally:
        await issuer.aclose()
    token = CardKeyVault(fernet_keys=settings.card_key_fernet_keys).encrypt(card_key=key)
    masked = mask_key(key=key)
    last4 = masked.removeprefix("****")
    await asyncio.to_thread(_store, uow, item=item, token=token, last4=last4, ref=ref,
                            status=status.value, topic=settings.topics.evidence_events,
                            window=timedelta(hours=settings.relevance_window_hours))
    return {"evidence_id": item.id, "number": item.number, "card_key": masked,
            "key_last4": last4, "status": status.value}
