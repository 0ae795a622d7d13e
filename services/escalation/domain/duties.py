"""Who must act now: per party, the action a case requires and its deadline, in two languages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.escalation.domain.clocks import Clock, ClockStatus
from services.escalation.domain.states import CaseStatus, Outcome, Resolution, State
from services.escalation.domain.terms import Party
from services.escalation.domain.wording import describe, evidence_list, sentence_en, sentence_zh

A, C, M = Party.AGENT, Party.COMPLAINANT, Party.MERCHANT
Row = tuple[Party, str, tuple[str, ...], str, str]
# state -> (party, action code, clocks whose earliest due time is the deadline, English, 中文)
_TABLE: dict[State, list[Row]] = {
    State.FILED: [(A, "acknowledge", ("first_response",),
                   "Acknowledge and answer the complaint", "受理并答复该投诉")],
    State.ACKNOWLEDGED: [(A, "respond", ("first_response",), "Answer the complaint", "答复该投诉")],
    State.IN_REVIEW: [(A, "answer", ("first_response", "internal_answer"),
                       "Give the complainant a substantive answer", "给投诉人实质性答复")],
    State.AWAITING_EVIDENCE: [(C, "upload_evidence",
                               ("evidence_upload", "payment_channel_dispute", "chargeback"),
                               "Upload {evidence_en}", "上传{evidence_zh}")],
    State.AWAITING_MERCHANT: [(M, "merchant_response", ("merchant_response",),
                               "Accept the refund, reissue, or contest with evidence",
                               "同意退款、补发，或提交证据提出异议")],
    State.RESOLUTION_PROPOSED: [(C, "answer_offer", (), "Accept or reject the offer: {offer_en}",
                                 "接受或拒绝处理方案：{offer_zh}")],
    State.PLATFORM_ARBITRATION: [
        (A, "arbitrate", ("platform_decision", "internal_answer"), "Decide the dispute between buyer and merchant",
         "对买卖双方的争议作出裁决"),
        (M, "submit_defence", ("merchant_response",), "Send the platform your answer and evidence",
         "向平台提交答辩和证据")],
    State.PAYMENT_CHANNEL_DISPUTE: [
        (C, "file_channel_dispute", ("payment_channel_dispute", "chargeback"),
         "File the dispute with your payment channel", "向支付渠道发起交易争议"),
        (A, "support_channel_dispute", ("first_response", "channel_decision"),
         "Give the payment channel the order and delivery records",
         "向支付渠道提供订单和发货记录")],
    State.EXTERNAL: [(A, "answer_external", (), "Answer the external body's case",
                      "答复外部机构的投诉案件")],
    State.LEGAL: [(A, "prepare_legal", (), "Prepare the case file for the legal procedure",
                   "准备诉讼所需的案件材料")],
}


class Duty(BaseModel):
    """One party's required action with its deadline (None: as soon as possible)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    party: Party
    action: str
    due_at: AwareDatetime | None
    clock: str | None
    overdue: bool
    text_en: str
    text_zh: str


def duties(*, status: CaseStatus, clocks: Iterable[Clock], at: datetime) -> tuple[Duty, ...]:
    """Everything owed on the case at instant at, one entry per party and action."""
    idle = {ClockStatus.PAUSED, ClockStatus.STOPPED}
    live = {c.name: c for c in clocks if c.status(at=at) not in idle}
    rows = list(_TABLE.get(status.state, []))
    if status.state is State.RESOLVED and status.outcome is not None:
        rows += _settlement(status.outcome)
    ev_en, ev_zh = evidence_list(items=status.requested_evidence)
    offer_en, offer_zh = describe(resolution=status.offer)
    out_en, out_zh = describe(resolution=status.outcome)
    words = dict(evidence_en=ev_en, evidence_zh=ev_zh, offer_en=offer_en, offer_zh=offer_zh,
                 outcome_en=out_en, outcome_zh=out_zh)
    found = []
    for party, code, names, en, zh in rows:
        clock = min((live[n] for n in names if n in live), key=lambda c: c.due_at, default=None)
        due = clock.due_at if clock else None
        found.append(Duty(party=party, action=code, due_at=due, clock=clock.name if clock else None,
                          overdue=due is not None and at >= due,
                          text_en=sentence_en(text=en.format(**words), due=due),
                          text_zh=sentence_zh(text=zh.format(**words), due=due)))
    return tuple(found)


def _settlement(outcome: Resolution) -> list[Row]:
    if outcome.outcome in {Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.COMPENSATION}:
        return [(M, "pay", ("refund",), "Pay {outcome_en} to the complainant",
                 "向投诉人支付{outcome_zh}")]
    if outcome.outcome is Outcome.REISSUE:
        return [(M, "reissue", (), "Deliver {outcome_en}", "发放{outcome_zh}")]
    if outcome.outcome is Outcome.UNFREEZE:
        return [(A, "unfreeze", (), "Lift the restriction on the account", "解除账户限制")]
    return []
