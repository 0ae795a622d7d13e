"""Reader-facing names for every code a notice can show, in zh-CN and English.

Each vocabulary is a table code → (zh-CN, English). A zh-CN name holds no Latin words (brands in
their Chinese names: 支付宝, 微信支付); tests/unit/test_notify_labels.py walks every code of every
vocabulary, including the codes other services send, against these tables.
"""

from .notice import Language

Names = dict[str, tuple[str, str]]

STATES: Names = {
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
TIERS: Names = {
    "automatic": ("自动处理", "automatic handling"),
    "internal": ("平台客服", "platform customer service"),
    "platform": ("平台介入仲裁", "platform arbitration"),
    "payment_channel": ("支付渠道争议", "payment-channel dispute"),
    "external": ("外部投诉渠道（如12315）", "external bodies (such as 12315)"),
    "legal": ("法律途径（含小额诉讼）", "legal action (including small claims)"),
}
#: Evidence kinds, the requirement codes evidence reports as missing, problem subtypes and payment notice types.
EVIDENCE: Names = {
    "payment_proof": ("支付凭证（扣款记录或支付页面截图，含订单号、金额、商户）",
                      "payment proof (debit record or payment page with order number, amount and merchant)"),
    "channel_notice": ("支付渠道的交易关闭或异常通知",
                       "the payment channel's 'transaction closed' or exception notice"),
    "order_record": ("订单记录（状态、商品、时间）", "order record (status, item, time)"),
    "problem_proof": ("问题证明（卡密使用时的失败提示、错误码、未到账截图）",
                      "proof of the problem (failure prompt when the key was used, error code, 'not received' screen)"),
    "communication_log": ("与客服或商家的沟通记录", "chat or ticket log with support or the merchant"),
    "platform_rule": ("所依据的平台规则条款", "the platform rule you rely on"),
    "platform_rules": ("所依据的平台规则条款", "the platform rule you rely on"),  # older spelling
    "listing_snapshot": ("商品页面快照", "snapshot of the product listing"),
    "merchant_identity": ("商家主体信息（营业执照）", "merchant identity (business registration)"),
    "other": ("其他材料", "other material"),
    "key_failure_prompt": ("使用卡密时弹出的失败提示截图（错误信息或错误码）",
                           "the failure prompt shown when the card key was used (error message or code)"),
    "not_received_screen": ("显示未到账的截图（如余额或充值记录）",
                            "a screen showing the goods never arrived (e.g. balance or top-up history)"),
    "delivered_vs_ordered": ("下单内容与实际到货的对比截图", "a comparison of what was ordered and what was delivered"),
    "refund_request_record": ("申请退款及被拒绝或拖延的沟通记录",
                              "the record of your refund request and the refusal or delay"),
    "unknown_transaction": ("显示非本人交易的账单或扣款记录",
                            "the statement or debit showing the transaction you did not make"),
    "freeze_report": ("已向支付渠道或银行报告并申请冻结的记录",
                      "a record that you reported the charge to the channel or bank and asked for a freeze"),
    "restriction_notice": ("账号或订单被限制、冻结的通知", "the notice that the account or order was restricted"),
    "login_alert": ("异常登录提醒或个人信息泄露的证据", "the strange-login alert or proof of the leaked data"),
    "police_receipt": ("公安机关的报案回执", "the police report receipt (报案回执)"),
    "delivery_record": ("发货记录或卡密发放记录", "the delivery record or the card key's issuing record"),
    "licence_source": ("授权来源证明", "proof of the licence source"),
    "key_screenshot": ("卡密截图", "a screenshot of the card key"),
    "error_code": ("错误码截图", "a screenshot of the error code"),
    "ban_notice": ("封禁或限制通知", "the ban or restriction notice"),
    "payment_page": ("支付页面截图", "the payment page"),
    "statement": ("账单", "the statement"),
    "bank_debit": ("银行扣款记录", "the bank debit record"),
    "channel_exception_notice": ("支付渠道的异常通知", "the payment channel's exception notice"),
    "channel_closing_notice": ("支付渠道的交易关闭通知", "the payment channel's 'transaction closed' notice"),
    "channel_record": ("支付渠道自己的交易记录", "the payment channel's own record of the transaction"),
}
#: Clock names of escalation's policy (services/escalation/domain/policy.yaml).
CLOCKS: Names = {
    "first_response": ("首次答复时限", "first answer"),
    "merchant_response": ("商家答复时限", "merchant's answer"),
    "internal_answer": ("平台实质答复时限", "platform's substantive answer"),
    "refund": ("退款处理时限", "refund handling"),
    "evidence_upload": ("补充证据时限", "evidence upload"),
    "payment_channel_dispute": ("支付渠道争议申请期限", "payment-channel dispute window"),
    "chargeback": ("信用卡拒付申请期限", "card chargeback window"),
    "complaint_window": ("补单申请期限", "missing top-up (补单) request window"),
    "platform_arbitration": ("平台仲裁时限", "platform arbitration"),
    "platform_decision": ("平台仲裁时限", "platform arbitration"),
    "channel_decision": ("支付渠道裁决期限", "payment channel's decision"),
    "automatic_window": ("自动处理时限", "automatic handling"),
}
#: Reason codes escalation and intake give for a change (free text never reaches a notice).
REASONS: Names = {
    "refusal_no_7day_return_not_a_ground": (
        "“虚拟商品不支持七天无理由退货”不能作为拒绝为无法使用的商品退款的理由",
        "'virtual goods: no 7-day return' is not a ground to refuse a refund for goods that do not work"),
    "case_opened": ("已立案", "case opened"),
    "freeze_requested": ("已申请冻结账户", "account freeze requested"),
    "breached_clock": ("处理超时", "a deadline was missed"),
    "refusal_record": ("商家或平台已拒绝", "refused by the merchant or the platform"),
    "closed_ticket": ("工单已关闭但问题未解决", "ticket closed without a solution"),
    "category_corrected": ("投诉类别已更正", "category corrected"),
    "evidence_missing": ("证据不完整", "evidence incomplete"),
    "evidence_complete": ("证据已齐全", "evidence complete"),
    "merchant_contested": ("商家提出异议", "the merchant contested the complaint"),
    "resolution_rejected": ("投诉人拒绝了处理方案", "the complainant rejected the offer"),
    "resolution_accepted": ("投诉人接受了处理方案", "the complainant accepted the offer"),
    "external_filing_recorded": ("已记录外部投诉", "external filing recorded"),
    "payment_debit_confirmed": ("支付渠道已确认扣款", "the payment channel confirmed the debit"),
    "withdrawn_by_complainant": ("投诉人已撤回", "withdrawn by the complainant"),
    "reopened": ("已重新打开", "reopened"),
}
CATEGORIES: Names = {
    "charged-no-order": ("扣款未生成订单", "charged, no order"),
    "not-delivered": ("服务未到账", "not delivered"),
    "wrong-delivery": ("货不对板", "wrong delivery"),
    "invalid-card-key": ("卡密无效", "invalid card key"),
    "unauthorized-charge": ("盗刷", "unauthorized charge"),
    "refund-refused": ("拒绝退款", "refund refused"),
    "account-restricted": ("账号受限", "account restricted"),
    "merchant-fraud": ("商家欺诈", "merchant fraud"),
    "slow-or-rude-service": ("客服推诿", "slow or rude service"),
    "data-leak": ("信息泄露", "data leak"),
}
OUTCOMES: Names = {
    "refund": ("全额退款", "a full refund"),
    "partial_refund": ("部分退款", "a partial refund"),
    "reissue": ("补发有效卡密", "reissuing valid card keys"),
    "compensation": ("赔偿", "compensation"),
    "fraud_triple": ("退一赔三（退还价款并赔偿价款三倍）", "a refund plus three times the price (退一赔三)"),
    "refund_and_compensation": ("退款并赔偿", "a refund and compensation"),
    "unfreeze": ("解除账户限制", "lifting the account restriction"),
    "rejected": ("不予支持", "no remedy"),
}
COMPENSATION_BASES: Names = {
    "delay": ("延误补偿", "for the delay"),
    "fraud_triple": ("退一赔三：价款三倍、不足五百元按五百元（《消费者权益保护法》第五十五条）",
                     "under 退一赔三: three times the price, at least 500 CNY (Consumer Protection Law art. 55)"),
    "other": ("其他补偿", "on another basis"),
}
FREEZE_TARGETS: Names = {
    "account": ("支付账户", "the payment account"),
    "payment_instrument": ("银行卡或支付工具", "the card or payment instrument"),
    "merchant_settlement": ("商家结算款", "the merchant's settlement funds"),
}
PAYMENT_CHANNELS: Names = {
    "alipay": ("支付宝", "Alipay"),
    "wechat": ("微信支付", "WeChat Pay"),
    "bank_card": ("银行卡", "bank card"),
    "paypal": ("贝宝", "PayPal"),
    "visa": ("维萨卡", "Visa card"),
    "mastercard": ("万事达卡", "Mastercard"),
    "wallet_balance": ("钱包余额", "wallet balance"),
    "other": ("其他支付方式", "another payment method"),
}
#: Whose a clock is, and who confirmed something (roles).
PARTIES: Names = {
    "complainant": ("投诉人", "the complainant"),
    "merchant": ("商家", "the merchant"),
    "platform": ("平台", "the platform"),
    "channel": ("支付渠道", "the payment channel"),
    "agent": ("平台客服", "platform staff"),
    "partner": ("平台合作方", "the platform partner"),
    "system": ("系统", "the system"),
}
#: Event types, for the plain message sent when a template fails.
EVENTS: Names = {
    "ComplaintFiled": ("投诉已受理", "complaint filed"),
    "ComplaintStatusChanged": ("状态更新", "status changed"),
    "EvidenceAssessed": ("证据审核", "evidence reviewed"),
    "SlaWarning": ("时限即将到期", "deadline approaching"),
    "SlaBreached": ("时限已过", "deadline passed"),
    "ResolutionProposed": ("处理方案", "resolution proposed"),
    "ComplaintEscalated": ("投诉升级", "complaint escalated"),
    "ComplaintWithdrawn": ("投诉已撤回", "complaint withdrawn"),
    "AccountFreezeRequested": ("冻结请求", "freeze requested"),
    "AccountFreezeConfirmed": ("冻结已确认", "freeze confirmed"),
}
VOCABULARIES: dict[str, Names] = {
    "state": STATES, "tier": TIERS, "evidence": EVIDENCE, "clock": CLOCKS, "reason": REASONS,
    "category": CATEGORIES, "outcome": OUTCOMES, "compensation_basis": COMPENSATION_BASES,
    "freeze": FREEZE_TARGETS, "payment_channel": PAYMENT_CHANNELS, "party": PARTIES, "event": EVENTS,
}
#: Clocks the complainant owns (for events from before SlaWarning/SlaBreached named their owner).
COMPLAINANT_CLOCKS = frozenset({"evidence_upload", "payment_channel_dispute", "chargeback", "complaint_window"})


def label(*, vocabulary: str, code: str | None, language: Language) -> str:
    """Name of a code for the reader; "-" for none; an unknown code is shown as given."""
    if code is None:
        return "-"
    names = VOCABULARIES[vocabulary].get(code)
    # An unknown code is still shown, so a new state never blanks out a message.
    return code if names is None else names[0 if language is Language.ZH_CN else 1]


def state_label(*, code: str | None, language: Language) -> str:
    """Name of a complaint state for the reader."""
    return label(vocabulary="state", code=code, language=language)


def tier_label(*, code: str | None, language: Language) -> str:
    """Name of an escalation tier for the reader."""
    return label(vocabulary="tier", code=code, language=language)


def evidence_label(*, code: str, language: Language) -> str:
    """Name of an evidence kind or requirement for the reader."""
    return label(vocabulary="evidence", code=code, language=language)
