"""Reader-facing names for state, tier and evidence codes in each template language."""

from .notice import Language

_STATES = {
    "filed": ("已提交", "filed"),
    "acknowledged": ("已受理", "acknowledged"),
    "awaiting_evidence": ("待补充证据", "waiting for evidence"),
    "in_review": ("审核中", "in review"),
    "under_review": ("审核中", "under review"),
    "awaiting_merchant": ("待商家回复", "waiting for the merchant"),
    "resolution_proposed": ("已提出处理方案", "resolution proposed"),
    "platform_arbitration": ("平台仲裁中", "in platform arbitration"),
    "payment_channel_dispute": ("支付渠道争议中", "in payment-channel dispute"),
    "external": ("已转外部渠道", "with an external body"),
    "legal": ("法律程序中", "in legal proceedings"),
    "resolved": ("已解决", "resolved"),
    "rejected": ("已驳回", "rejected"),
    "closed": ("已关闭", "closed"),
    "withdrawn": ("已撤回", "withdrawn"),
}
_TIERS = {
    "automatic": ("自动处理", "automatic handling"),
    "internal": ("平台客服", "platform customer service"),
    "platform": ("平台介入仲裁", "platform arbitration"),
    "payment_channel": ("支付渠道争议", "payment-channel dispute"),
    "external": ("外部投诉渠道（如12315）", "external bodies (such as 12315)"),
    "legal": ("法律途径", "legal action"),
}
_EVIDENCE = {
    "payment_proof": ("支付凭证（扣款记录或支付页面截图，含订单号、金额、商户）",
                      "payment proof (debit record or payment page with order number, amount and merchant)"),
    "channel_notice": ("支付渠道的交易关闭或异常通知",
                       "the payment channel's 'transaction closed' or exception notice"),
    "order_record": ("订单记录（状态、商品、时间）", "order record (status, item, time)"),
    "problem_proof": ("问题证明（卡密使用时的失败提示、错误码、未到账截图）",
                      "proof of the problem (failure prompt when the key was used, error code, 'not received' screen)"),
    "communication_log": ("与客服或商家的沟通记录", "chat or ticket log with support or the merchant"),
    "platform_rules": ("所依据的平台规则条款", "the platform rule you rely on"),
    "listing_snapshot": ("商品页面快照", "snapshot of the product listing"),
    "merchant_identity": ("商家主体信息", "merchant identity (business registration)"),
}


def _label(table: dict[str, tuple[str, str]], code: str | None, language: Language) -> str:
    if code is None:
        return "-"
    names = table.get(code)
    # An unknown code is still shown, so a new state never blanks out a message.
    return code if names is None else names[0 if language is Language.ZH_CN else 1]


def state_label(*, code: str | None, language: Language) -> str:
    """Name of a complaint state for the reader."""
    return _label(_STATES, code, language)


def tier_label(*, code: str | None, language: Language) -> str:
    """Name of an escalation tier for the reader."""
    return _label(_TIERS, code, language)


def evidence_label(*, code: str, language: Language) -> str:
    """Name of an evidence kind for the reader."""
    return _label(_EVIDENCE, code, language)
