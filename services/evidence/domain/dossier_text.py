"""The three-part complaint (what happened, numbered evidence, one demand) in zh-CN and English."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from .errors import EvidenceRuleError
from .money import check_currency, format_amount

CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")
LANGS = ("zh-CN", "en")
KIND_LABELS = {
    "payment_proof": ("支付凭证", "Payment proof"), "order_record": ("订单记录", "Order record"),
    "problem_proof": ("问题证明", "Problem proof"),
    "communication_log": ("沟通记录", "Communication log"),
    "platform_rule": ("平台规则", "Platform rule"),
    "listing_snapshot": ("商品页面快照", "Listing snapshot"),
    "merchant_identity": ("商家身份", "Merchant identity"),
    "police_receipt": ("报案回执", "Police receipt"),
    "delivery_record": ("发货/卡密发放记录", "Delivery record"),
    "licence_source": ("授权来源证明", "Licence source"), "other": ("其他", "Other"),
}
# Vague asks get nowhere; a demand must say what to pay, reissue or unfreeze.
_VAGUE = ("explanation", "说法", "解释", "交代")


def _text(value: Any, lang: str) -> str:
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("en") or value.get("zh-CN") or "")
    return "" if value is None else str(value)


def _when(value: datetime | str, zone: tzinfo) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError("occurred_at: must carry a timezone (UTC)")
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({moment.astimezone(zone).tzname()})"


def _money(data: Mapping[str, Any], key: str = "amount_minor") -> str:
    return format_amount(amount_minor=int(data[key]),
                         currency=check_currency(code=str(data["currency"])))


def _refuse_demand(message: str, message_zh: str) -> EvidenceRuleError:
    return EvidenceRuleError(field="demand", rule="one_concrete_demand", message=message,
                             message_zh=message_zh)


def render_demand(*, demand: Mapping[str, Any], lang: str) -> str:
    """One concrete demand: refund (with optional compensation), reissue, unfreeze or custom."""
    kind = demand.get("type")
    zh = lang == "zh-CN"
    if kind == "refund":
        text = f"请退款 {_money(demand)}" if zh else f"Refund {_money(demand)}"
        if demand.get("compensation_minor"):
            extra = _money(demand, "compensation_minor")
            reason = _text(demand.get("compensation_reason"), lang)
            text += (f"，并赔偿{reason} {extra}" if zh else
                     f" and pay {extra} compensation{' for ' + reason if reason else ''}")
        return text + ("。" if zh else ".")
    if kind == "reissue":
        count, item = int(demand["count"]), _text(demand.get("item"), lang)
        return f"请补发 {count} 个有效的{item}。" if zh else f"Reissue {count} valid {item}."
    if kind == "unfreeze":
        account = _text(demand.get("account"), lang)
        return f"请解除账号 {account} 的冻结。" if zh else f"Unfreeze account {account}."
    if kind == "custom":
        text = _text(demand.get("text"), lang).strip()
        if not text or any(word in text.lower() for word in _VAGUE):
            raise _refuse_demand("state one concrete demand (an amount to refund, keys to "
                                 "reissue), not a request for an explanation",
                                 "请提出一个具体诉求（退款金额、补发数量），而不是“要个说法”")
        return text
    raise _refuse_demand("type must be refund, reissue, unfreeze or custom",
                         "诉求类型必须是退款、补发、解冻或自定义之一")


def render_complaint_text(*, complaint: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]],
                          demand: Mapping[str, Any], lang: str = "zh-CN",
                          zone: tzinfo = CHINA_TIME) -> str:
    """The three-part complaint from plain dicts; the same facts in every language."""
    when = _when(complaint["occurred_at"], zone)
    amount = _money(complaint)
    event = _text(complaint.get("event"), lang).strip()
    platform, merchant = complaint["platform"], complaint["merchant"]
    order_no = complaint["order_number"]
    lines = []
    if lang == "zh-CN":
        lines += ["一、事情经过",
                  f"{when}，我在“{platform}”向商家“{merchant}”下单（订单号 {order_no}），"
                  f"支付 {amount}。{event}", "", "二、证据清单"]
    else:
        lines += ["1. What happened",
                  f"On {when} I placed order {order_no} with merchant '{merchant}' on "
                  f"'{platform}' and paid {amount}. {event}".rstrip(), "", "2. Evidence"]
    for position, item in enumerate(evidence, start=1):
        number = int(item.get("number", position))
        zh_label, en_label = KIND_LABELS.get(str(item.get("kind")), KIND_LABELS["other"])
        about = _text(item.get("description"), lang)
        digest = str(item.get("sha256", ""))[:12]
        label = f"证据{number}：{zh_label}" if lang == "zh-CN" else f"Evidence {number}: {en_label}"
        lines.append(label + (f" — {about}" if about else "")
                     + (f" (SHA-256 {digest}…)" if digest else ""))
    lines += ["", "三、诉求" if lang == "zh-CN" else "3. Demand",
              render_demand(demand=demand, lang=lang)]
    return "\n".join(lines) + "\n"


def render_all(*, complaint: Mapping[str, Any], evidence: Sequence[Mapping[str, Any]],
               demand: Mapping[str, Any], zone: tzinfo = CHINA_TIME) -> dict[str, str]:
    """The complaint text in every language, keyed 'zh-CN' and 'en'."""
    return {lang: render_complaint_text(complaint=complaint, evidence=evidence, demand=demand,
                                        lang=lang, zone=zone) for lang in LANGS}
