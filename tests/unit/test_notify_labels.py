"""Every code a notice can show has a zh-CN and an English name, and no zh-CN name holds a Latin word."""

import re
from pathlib import Path

import pytest
import yaml

from services.escalation.domain.states import Outcome
from services.evidence.domain import requirements
from services.evidence.domain.kinds import EvidenceKind, PaymentNoticeType, ProblemSubtype
from services.notify.domain.labels import VOCABULARIES, label
from services.notify.domain.notice import Language
from services.notify.domain.render import TEMPLATES
from shared.contracts.complaints import AccountFreezeRequested
from shared.contracts.vocabulary import CaseState, Category, PaymentChannel, Role, Tier

pytestmark = pytest.mark.unit

POLICY = Path(__file__).parents[2] / "services" / "escalation" / "domain" / "policy.yaml"
LATIN = re.compile(r"[A-Za-z]")


def _requirement_codes() -> set[str]:
    return {r.code for rule in requirements.RULES.values() for r in (*rule.required, *rule.recommended)}


#: Each vocabulary and every code it must name: the shared enums, the other services' own lists
#: (evidence kinds and requirements, escalation's outcomes and clocks), and the codes only events carry.
CODES: dict[str, set[str]] = {
    "state": {s.value for s in CaseState},
    "tier": {t.value for t in Tier},
    "category": {c.value for c in Category},
    "payment_channel": {p.value for p in PaymentChannel},
    "party": {r.value for r in Role} | {"platform", "channel"},
    "evidence": ({k.value for k in EvidenceKind} | {p.value for p in ProblemSubtype}
                 | {n.value for n in PaymentNoticeType} | _requirement_codes()
                 | {"police_receipt", "delivery_record", "licence_source", "platform_rules"}),
    "clock": set(yaml.safe_load(POLICY.read_text(encoding="utf-8"))["clocks"]),
    "outcome": {o.value for o in Outcome},
    "compensation_basis": {"delay", "fraud_triple", "other"},  # ResolutionProposed.compensation_basis
    "freeze": {*AccountFreezeRequested.model_fields["freeze"].default_factory(), "merchant_settlement"},
    "reason": {"refusal_no_7day_return_not_a_ground", "case_opened", "freeze_requested"},
    "event": set(TEMPLATES) | {"ComplaintWithdrawn"},
}


@pytest.mark.parametrize("vocabulary", sorted(CODES))
def test_every_code_has_both_names_and_the_chinese_one_has_no_latin_word(vocabulary: str) -> None:
    table = VOCABULARIES[vocabulary]
    missing = sorted(CODES[vocabulary] - set(table))
    assert not missing, f"{vocabulary}: no label for {missing}"
    latin = {code: zh for code, (zh, _en) in table.items() if LATIN.search(zh)}
    assert not latin, f"{vocabulary}: zh-CN labels with Latin words: {latin}"
    blank = [code for code, (zh, en) in table.items() if not zh.strip() or not en.strip()]
    assert not blank, f"{vocabulary}: empty labels for {blank}"


def test_every_vocabulary_is_walked() -> None:
    assert set(VOCABULARIES) == set(CODES)


def test_the_codes_seen_raw_in_chinese_notices_now_read_as_chinese() -> None:
    assert label(vocabulary="evidence", code="key_failure_prompt", language=Language.ZH_CN).startswith("使用卡密")
    assert label(vocabulary="evidence", code="not_received_screen", language=Language.ZH_CN).startswith("显示未到账")
    assert label(vocabulary="evidence", code="freeze_report", language=Language.ZH_CN).startswith("已向支付渠道")
    assert label(vocabulary="evidence", code="platform_rule", language=Language.ZH_CN) == "所依据的平台规则条款"
    assert label(vocabulary="payment_channel", code="alipay", language=Language.ZH_CN) == "支付宝"
