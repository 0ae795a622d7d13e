"""Evidence gates the outcome: no money offer while the assessment lists required evidence missing."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

# What evidence's assessment codes mean, as evidence tells the complainant (its requirements).
LABELS = {
    "order_record": ("the order record (order number, status, item and time)", "订单记录（订单号、状态、商品和时间）"),
    "payment_proof": ("proof of payment (payment page, bank debit or statement)",
                      "支付凭证（支付页面、银行扣款记录或账单）"),
    "channel_notice": ("the payment channel's own exception or 'transaction closed' notice",
                       "支付渠道自己的异常通知或“交易关闭”通知"),
    "key_failure_prompt": ("the failure prompt shown when the card key was used", "使用卡密时出现的失败提示截图"),
    "not_received_screen": ("a screen showing the goods never arrived", "显示未到账的截图"),
    "delivered_vs_ordered": ("a comparison of what was ordered and what was delivered", "下单内容与实际到货的对比截图"),
    "communication_log": ("a record of contacting support", "与客服沟通的记录"),
    "refund_request_record": ("the record of the refund request and the refusal or delay",
                              "申请退款及被拒绝或拖延的沟通记录"),
    "unknown_transaction": ("the statement showing the transaction the complainant did not make",
                            "显示非本人交易的账单或扣款记录"),
    "freeze_report": ("a record of reporting the charge and asking for a freeze", "已报告并申请冻结的记录"),
    "restriction_notice": ("the notice that the account or order was restricted", "账号或订单被限制的通知"),
    "platform_rule": ("the platform clause relied on or disputed", "所依据或有争议的平台规则条款"),
    "listing_snapshot": ("a snapshot of what the listing promised", "商品页面承诺的截图"),
    "problem_proof": ("proof of what was wrong with the goods", "商品存在问题的证据"),
    "merchant_identity": ("the merchant's identity (business registration)", "商家身份信息（营业执照）"),
    "login_alert": ("the strange-login alert or proof of the leaked data", "异常登录提醒或个人信息泄露的证据"),
    "police_receipt": ("the police report receipt", "报案回执"),
    "delivery_record": ("the merchant's delivery or card-key issuing record", "商家的发货或卡密发放记录"),
    "licence_source": ("proof of the merchant's licensed source", "商家的授权来源证明"),
}


class MissingEvidence(BaseModel):
    """One required piece the latest assessment lists as missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    field: str
    rule: str = "required_evidence"
    message_en: str
    message_zh: str


class EvidenceOverride(BaseModel):
    """An agent's decision to offer money although required evidence is missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, title="Why the offer goes ahead without it")


class EvidenceMissing(Exception):
    """A money offer while required evidence is missing (HTTP 409); names each piece in two languages."""

    def __init__(self, missing: Sequence[MissingEvidence]) -> None:
        self.missing = tuple(missing)
        names = "; ".join(m.message_en for m in self.missing)
        self.text_en = (f"Required evidence is missing: {names}. Ask for it, or propose with "
                        "override_missing_evidence and a reason.")
        self.text_zh = ("必需的证据尚缺：" + "；".join(m.message_zh for m in self.missing)
                        + "。请先要求补充，或填写 override_missing_evidence 并说明理由后再提出方案。")
        super().__init__(self.text_en)


def missing_pieces(codes: Sequence[str]) -> list[MissingEvidence]:
    """The assessment's missing codes, each with its meaning in English and Chinese."""
    out = []
    for code in codes:
        en, zh = LABELS.get(code, (code.replace("_", " "), code))
        out.append(MissingEvidence(field=code, message_en=en, message_zh=zh))
    return out


def gate(*, missing: Sequence[str], override: EvidenceOverride | None) -> tuple[str, ...]:
    """The missing codes an override passes over; raises EvidenceMissing when none is given."""
    if not missing:
        return ()
    if override is None:
        raise EvidenceMissing(missing_pieces(missing))
    return tuple(missing)
