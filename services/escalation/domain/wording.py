"""English and zh-CN wording for evidence, outcomes and deadlines shown to the parties."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from services.escalation.domain.calendar import SHANGHAI
from services.escalation.domain.evidence_gate import LABELS
from services.escalation.domain.states import Outcome, Resolution

EVIDENCE = {
    "payment_proof": ("the payment proof (debit record or payment page with the order number)",
                      "支付凭证（扣款记录或带订单号的支付页面）"),
    "channel_closing_notice": ("the payment channel's closing notice", "支付渠道的交易关闭通知"),
    "order_record": ("the order record", "订单记录"),
    "key_failure_prompt": ("the failure message shown when the card key was used",
                           "卡密使用时的失败提示"),
    "communication_log": ("the chat or ticket log with customer service",
                          "与客服的聊天或工单记录"),
    "listing_snapshot": ("a snapshot of the product listing", "商品页面截图"),
    "merchant_identity": ("the merchant's business registration", "商家的工商登记信息"),
}


def evidence_list(*, items: tuple[str, ...]) -> tuple[str, str]:
    """Requested evidence as an English and a Chinese phrase (the request's own wording, else the
    evidence assessment's: `channel_notice` …); unknown codes appear as given."""
    pairs = [EVIDENCE.get(i) or LABELS.get(i, (i, i)) for i in items]
    return " and ".join(en for en, _ in pairs), "、".join(zh for _, zh in pairs)


def describe(*, resolution: Resolution | None) -> tuple[str, str]:
    """A resolution as an English and a Chinese phrase."""
    if resolution is None:
        return "", ""
    r = resolution
    paid = r.compensation if r.outcome is Outcome.COMPENSATION and r.compensation else r.refund or r.amount
    money, amount = (f" of {paid}", f" {paid}") if paid else ("", "")
    keys = r.keys or 1
    en, zh = {
        Outcome.REFUND: (f"a full refund{money}", f"全额退款{amount}"),
        Outcome.PARTIAL_REFUND: (f"a partial refund{money}", f"部分退款{amount}"),
        Outcome.COMPENSATION: (f"compensation{money}", f"赔偿{amount}"),
        Outcome.FRAUD_TRIPLE: (f"a refund{money} plus three times the price (退一赔三)", f"退一赔三：退款{amount}"),
        Outcome.REISSUE: (f"{keys} valid card key(s)", f"{keys}个有效卡密"),
        Outcome.UNFREEZE: ("lifting the account restriction", "解除账户限制"),
        Outcome.REJECTED: (f"no remedy, because: {r.reason}", f"不予支持，理由：{r.reason}"),
    }[r.outcome]
    if r.compensation and r.outcome is not Outcome.COMPENSATION:  # e.g. refund 29 and 10 for the delay
        en, zh = f"{en} and compensation of {r.compensation}", f"{zh}，另赔偿 {r.compensation}"
    return en, zh


def deadline(*, due: datetime) -> str:
    """A deadline in Beijing time; midnight reads as 24:00 of the day before."""
    local = due.astimezone(SHANGHAI)
    # Chinese notices write the end of a day as 24:00, so a working-day deadline reads naturally.
    if local.time() == time(0):
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def sentence_en(*, text: str, due: datetime | None) -> str:
    """An English instruction with its deadline."""
    return f"{text} by {deadline(due=due)} (Beijing time)." if due else f"{text} as soon as possible."


def sentence_zh(*, text: str, due: datetime | None) -> str:
    """A Chinese instruction with its deadline."""
    return f"请在{deadline(due=due)}（北京时间）前{text}。" if due else f"请尽快{text}。"
