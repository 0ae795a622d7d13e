"""What evidence each complaint category needs, after the domain's evidence-chain rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.contracts.vocabulary import Category as ComplaintCategory

from .kinds import (
    EvidenceKind,
    OrderRecordFields,
    OrderStatus,
    PaymentNoticeType,
    PaymentProofFields,
    ProblemProofFields,
    ProblemSubtype,
    SubmittedEvidence,
)

Match = Callable[[SubmittedEvidence], bool]
_NOTICES = {PaymentNoticeType.CHANNEL_EXCEPTION_NOTICE, PaymentNoticeType.CHANNEL_CLOSING_NOTICE}
#: The channel's own record of the complaint's transaction traces the money flow whenever it
#: shows the money taken, closed or refunded (002): it is the channel's notice. Only a record
#: showing the money taken (or taken and returned) proves the debit itself.
TRACED = frozenset({"paid", "closed", "refunded"})
DEBITED = frozenset({"paid", "refunded"})


@dataclass(frozen=True)
class ChannelFacts:
    """What the payment channel's own record of the complaint's order says, if one arrived."""

    source: str
    transaction_id: str
    record_status: str


@dataclass(frozen=True)
class Requirement:
    """One piece the chain needs; `hint` explains a near miss the complainant already has."""

    code: str
    matches: Match
    en: str
    zh: str
    near_miss: Match | None = None
    hint_en: str = ""
    hint_zh: str = ""
    by_channel: frozenset[str] = frozenset()  # record statuses that meet it without an upload

    def met(self, *, items: Sequence[SubmittedEvidence], channel: ChannelFacts | None) -> bool:
        """Whether an item, or the channel's own record of the order, supplies this piece."""
        if channel is not None and channel.record_status in self.by_channel:
            return True
        return any(self.matches(i) for i in items)


@dataclass(frozen=True)
class CategoryRule:
    """Required and recommended pieces of one category."""

    name_en: str
    name_zh: str
    required: tuple[Requirement, ...]
    recommended: tuple[Requirement, ...] = field(default_factory=tuple)


def _kind(kind: EvidenceKind) -> Match:
    return lambda item: item.kind is kind


def _payment(notice: bool) -> Match:
    def match(item: SubmittedEvidence) -> bool:
        if item.kind is not EvidenceKind.PAYMENT_PROOF:
            return False
        if not isinstance(item.fields, PaymentProofFields):
            return not notice  # an untyped payment proof still shows a debit
        return (item.fields.notice_type in _NOTICES) == notice
    return match


def _problem(*subtypes: ProblemSubtype) -> Match:
    def match(item: SubmittedEvidence) -> bool:
        return (item.kind is EvidenceKind.PROBLEM_PROOF
                and isinstance(item.fields, ProblemProofFields)
                and (not subtypes or item.fields.subtype in subtypes))
    return match


def _key_used(item: SubmittedEvidence) -> bool:
    # The issuer's own answer that the key was already used is the failure the buyer saw, told
    # by the one who issued the key: it goes with the key as the prompt would (004).
    return item.card_key_status == "used"


def _either(*matches: Match) -> Match:
    return lambda item: any(m(item) for m in matches)


def _failed_order(item: SubmittedEvidence) -> bool:
    return isinstance(item.fields, OrderRecordFields) and item.fields.status in {
        OrderStatus.FAILED, OrderStatus.NOT_FOUND, OrderStatus.CLOSED}


ORDER = Requirement("order_record", _kind(EvidenceKind.ORDER_RECORD),
                    "the order record: the order page with order number, status, item and time",
                    "订单记录：显示订单号、状态、商品和时间的订单页面截图")
PAYMENT = Requirement("payment_proof", _payment(False),
                      "proof of payment: payment page, bank debit or statement with order "
                      "number, amount and merchant",
                      "支付凭证：显示订单号、金额和商家的支付页面、银行扣款记录或账单",
                      by_channel=DEBITED)
CHANNEL_NOTICE = Requirement(
    "channel_notice", _payment(True),
    "the payment channel's own exception or 'transaction closed' notice (e.g. the "
    "Alipay/WeChat bill detail); without it the money flow cannot be traced",
    "支付渠道自己的异常通知或“交易关闭”通知（如支付宝/微信账单详情）；缺少它资金流向无法追溯",
    near_miss=_failed_order,
    hint_en="The platform's 'order failed' screen does not show where the money went; refunds "
            "have been blocked for lack of the channel's notice.",
    hint_zh="平台的“订单失败”页面不能说明资金去向，曾有退款因缺少支付渠道通知而被驳回。",
    by_channel=TRACED)
FAILURE_PROMPT = Requirement(
    "key_failure_prompt",
    _either(_problem(ProblemSubtype.KEY_FAILURE_PROMPT, ProblemSubtype.ERROR_CODE), _key_used),
    "the failure prompt shown when the card key was used (the error message or code)",
    "使用卡密时弹出的失败提示截图（错误信息或错误码）",
    near_miss=_problem(ProblemSubtype.KEY_SCREENSHOT),
    hint_en="A screenshot of the card key alone is not enough: add the failure prompt shown "
            "when you used it.",
    hint_zh="仅有卡密截图不够，请补充使用卡密时出现的失败提示。")
NOT_RECEIVED = Requirement("not_received_screen", _problem(ProblemSubtype.NOT_RECEIVED_SCREEN),
                           "a screen showing the goods never arrived (e.g. balance or top-up "
                           "history)", "显示未到账的截图（如余额或充值记录）")
DELIVERED_VS_ORDERED = Requirement(
    "delivered_vs_ordered", _problem(ProblemSubtype.DELIVERED_VS_ORDERED),
    "a comparison of what was ordered and what was delivered", "下单内容与实际到货的对比截图")
CONTACT = Requirement("communication_log", _kind(EvidenceKind.COMMUNICATION_LOG),
                      "a record of contacting support: time, agent id and ticket number",
                      "与客服沟通的记录：时间、客服工号和受理编号")
REFUSAL = Requirement("refund_request_record", _kind(EvidenceKind.COMMUNICATION_LOG),
                      "the record of your refund request and the refusal or delay",
                      "申请退款及被拒绝或拖延的沟通记录")
UNKNOWN_CHARGE = Requirement("unknown_transaction", _payment(False),
                             "the statement or debit showing the transaction you did not make",
                             "显示非本人交易的账单或扣款记录", by_channel=DEBITED)
FREEZE_REPORT = Requirement("freeze_report", _kind(EvidenceKind.COMMUNICATION_LOG),
                            "a record that you reported the charge to the channel or bank and "
                            "asked for a freeze", "已向支付渠道或银行报告并申请冻结的记录")
POLICE = Requirement("police_receipt", _kind(EvidenceKind.POLICE_RECEIPT),
                     "the police receipt of your report (报案回执: police station, receipt number "
                     "and date); report fraud on 110 or the anti-fraud hotline 96110",
                     "报案回执（派出所、回执编号和报案日期）；诈骗可拨打 110 或反诈专线 96110 报案")
RESTRICTION = Requirement("restriction_notice", _problem(ProblemSubtype.BAN_NOTICE),
                          "the notice that the account or order was restricted",
                          "账号或订单被限制、冻结的通知")
RULE = Requirement("platform_rule", _kind(EvidenceKind.PLATFORM_RULE),
                   "the platform clause relied on or disputed", "所依据或有争议的平台规则条款")
LISTING = Requirement("listing_snapshot", _kind(EvidenceKind.LISTING_SNAPSHOT),
                      "a snapshot of what the listing promised (e.g. '100% valid keys')",
                      "商品页面承诺的截图（如“100%有效卡密”）")
PROBLEM = Requirement("problem_proof", _either(_problem(), _key_used),
                      "proof of what was wrong with the goods",
                      "商品存在问题的证据")
MERCHANT = Requirement("merchant_identity", _kind(EvidenceKind.MERCHANT_IDENTITY),
                       "the merchant's identity (business registration) for legal steps",
                       "商家身份信息（营业执照），用于法律途径")
LOGIN_ALERT = Requirement("login_alert", _problem(ProblemSubtype.LOGIN_ALERT),
                          "the strange-login alert or proof of the leaked data",
                          "异常登录提醒或个人信息泄露的证据")

C = ComplaintCategory
RULES: dict[ComplaintCategory, CategoryRule] = {
    C.CHARGED_NO_ORDER: CategoryRule("charged, no order", "扣款未生成订单",
                                     (PAYMENT, CHANNEL_NOTICE, ORDER), (CONTACT,)),
    C.NOT_DELIVERED: CategoryRule("not delivered", "服务未到账",
                                  (ORDER, PAYMENT, NOT_RECEIVED), (CONTACT,)),
    C.WRONG_DELIVERY: CategoryRule("wrong delivery", "货不对板",
                                   (ORDER, PAYMENT, DELIVERED_VS_ORDERED), (LISTING, CONTACT)),
    C.INVALID_CARD_KEY: CategoryRule("invalid card key", "卡密无效",
                                     (ORDER, PAYMENT, FAILURE_PROMPT), (CONTACT, RULE)),
    C.UNAUTHORIZED_CHARGE: CategoryRule("unauthorized charge", "盗刷",
                                        (UNKNOWN_CHARGE, FREEZE_REPORT), (POLICE,)),
    C.REFUND_REFUSED: CategoryRule("refund refused", "拒绝退款",
                                   (ORDER, PAYMENT, REFUSAL), (RULE,)),
    C.ACCOUNT_RESTRICTED: CategoryRule("account restricted", "账号受限",
                                       (RESTRICTION, RULE), (ORDER, CONTACT)),
    C.MERCHANT_FRAUD: CategoryRule("merchant fraud", "商家欺诈",
                                   (ORDER, PAYMENT, LISTING, PROBLEM), (MERCHANT,)),
    C.SLOW_OR_RUDE_SERVICE: CategoryRule("slow or rude service", "客服推诿",
                                         (CONTACT,), (ORDER,)),
    C.DATA_LEAK: CategoryRule("data leak", "信息泄露", (LOGIN_ALERT,), (CONTACT, POLICE)),
}
