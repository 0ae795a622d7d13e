"""Every word the console shows, in zh-CN and English: codes of the APIs and the pages' own text."""

from __future__ import annotations

LANGUAGES = ("zh-CN", "en")
Names = dict[str, tuple[str, str]]

STATES: Names = {
    "filed": ("已提交", "filed"), "acknowledged": ("已受理", "acknowledged"),
    "awaiting_evidence": ("待补充证据", "waiting for evidence"), "in_review": ("审核中", "in review"),
    "awaiting_merchant": ("待商家回复", "waiting for the merchant"),
    "resolution_proposed": ("已提出处理方案", "resolution proposed"),
    "platform_arbitration": ("平台仲裁中", "in platform arbitration"),
    "payment_channel_dispute": ("支付渠道争议中", "in payment-channel dispute"),
    "external": ("已转外部渠道", "with an external body"), "legal": ("法律程序中", "in legal proceedings"),
    "resolved": ("已解决", "resolved"), "closed": ("已关闭", "closed"), "withdrawn": ("已撤回", "withdrawn"),
}
#: What the complainant reads about their case, in plain words.
PLAIN: Names = {
    "filed": ("我们已收到您的投诉，正在安排处理。", "We have your complaint and are arranging who handles it."),
    "acknowledged": ("客服已接手您的投诉。", "An agent has taken up your complaint."),
    "awaiting_evidence": ("我们需要您补充证据，请在截止时间前上传。",
                          "We need more evidence from you; please upload it before the deadline."),
    "in_review": ("客服正在审核您的投诉。", "An agent is reviewing your complaint."),
    "awaiting_merchant": ("我们已要求商家答复，正在等待。", "We asked the merchant to answer and are waiting."),
    "resolution_proposed": ("已为您提出处理方案，请选择接受或拒绝。",
                            "A resolution is proposed to you: accept or reject it."),
    "platform_arbitration": ("平台正在对商家进行仲裁。", "The platform is arbitrating over the merchant."),
    "payment_channel_dispute": ("已进入支付渠道争议程序。", "The payment channel's dispute process is under way."),
    "external": ("投诉已转至外部渠道。", "The complaint is with an external body."),
    "legal": ("已进入法律程序。", "The case is in legal proceedings."),
    "resolved": ("您的投诉已解决。", "Your complaint is resolved."),
    "closed": ("您的投诉已结案。", "Your complaint is closed."),
    "withdrawn": ("您已撤回投诉。", "You withdrew the complaint."),
}
TIERS: Names = {
    "automatic": ("自动处理", "automatic"), "internal": ("平台客服", "platform support"),
    "platform": ("平台介入", "platform arbitration"), "payment_channel": ("支付渠道", "payment channel"),
    "external": ("外部渠道", "external bodies"), "legal": ("法律途径", "legal"),
}
CLOCKS: Names = {
    "first_response": ("首次答复", "first answer"), "merchant_response": ("商家答复", "merchant's answer"),
    "internal_answer": ("平台实质答复", "platform's substantive answer"), "refund": ("退款处理", "refund handling"),
    "evidence_upload": ("补充证据", "evidence upload"),
    "payment_channel_dispute": ("支付渠道争议申请期限", "payment-channel dispute window"),
    "chargeback": ("信用卡拒付期限", "card chargeback window"),
    "complaint_window": ("补单申请期限", "补单 (missing top-up) window"),
    "platform_arbitration": ("平台仲裁", "platform arbitration"),
    "platform_decision": ("平台仲裁", "platform arbitration"),
    "channel_decision": ("支付渠道裁决", "channel's decision"), "automatic_window": ("自动处理", "automatic handling"),
}
CATEGORIES: Names = {
    "charged-no-order": ("已扣款未生成订单", "charged, no order"), "not-delivered": ("未到账", "not delivered"),
    "wrong-delivery": ("货不对板", "wrong delivery"), "invalid-card-key": ("卡密无效", "invalid card key"),
    "unauthorized-charge": ("盗刷", "unauthorized charge"), "refund-refused": ("拒绝退款", "refund refused"),
    "account-restricted": ("账号受限", "account restricted"), "merchant-fraud": ("商家欺诈", "merchant fraud"),
    "slow-or-rude-service": ("服务慢或态度差", "slow or rude service"), "data-leak": ("信息泄露", "data leak"),
}
DEMANDS: Names = {
    "refund": ("退款", "refund"), "refund_and_compensation": ("退款并赔偿", "refund and compensation"),
    "reissue": ("补发", "reissue"), "fraud_triple": ("退一赔三", "refund plus triple (退一赔三)"),
    "full": ("全额", "in full"), "partial": ("部分", "partial"),
}
PRIORITIES: Names = {"normal": ("普通", "normal"), "high": ("优先", "high"), "urgent": ("紧急", "urgent")}
CLOCK_STATUS: Names = {
    "running": ("计时中", "running"), "paused": ("已暂停", "paused"), "warned": ("即将到期", "due soon"),
    "breached": ("已超时", "breached"), "stopped": ("已停止", "stopped"),
}
EVIDENCE: Names = {
    "payment_proof": ("支付凭证", "payment proof"),
    "channel_notice": ("支付渠道的交易关闭通知", "the channel's 'transaction closed' notice"),
    "order_record": ("订单记录", "order record"),
    "problem_proof": ("问题证明（失败提示、错误码）", "proof of the problem"),
    "communication_log": ("沟通记录", "chat or ticket log"), "platform_rule": ("平台规则条款", "platform rule"),
    "listing_snapshot": ("商品页面快照", "listing snapshot"), "police_receipt": ("报案回执", "police report receipt"),
    "freeze_report": ("冻结申请记录", "freeze request record"), "delivery_record": ("发货记录", "delivery record"),
    "key_failure_prompt": ("卡密失败提示", "key failure prompt"), "other": ("其他材料", "other material"),
}
PARTIES: Names = {
    "complainant": ("投诉人", "complainant"), "merchant": ("商家", "merchant"), "agent": ("客服", "agent"),
    "platform": ("平台", "platform"), "channel": ("支付渠道", "payment channel"), "system": ("系统", "system"),
}
ACTIONS: Names = {
    "assign": ("分派给我", "Assign to me"), "respond": ("答复", "Respond"),
    "forward_to_merchant": ("转给商家", "Forward to the merchant"),
    "request_evidence": ("要求补充证据", "Request evidence"),
    "propose_resolution": ("提出处理方案", "Propose a resolution"), "escalate": ("升级", "Escalate"),
    "resolve": ("解决", "Resolve"), "close": ("结案", "Close"), "reopen": ("重新打开", "Reopen"),
    "confirm_freeze": ("确认已冻结", "Confirm the freeze"), "accept_resolution": ("接受方案", "Accept"),
    "reject_resolution": ("拒绝方案", "Reject"), "withdraw": ("撤回投诉", "Withdraw"), "upload": ("上传", "Upload"),
}
OUTCOMES: Names = {
    "refund": ("全额退款", "full refund"),
    "partial_refund": ("部分退款", "partial refund"), "reissue": ("补发", "reissue"),
    "compensation": ("退款并赔偿", "refund and compensation"), "unfreeze": ("解除冻结", "unfreeze"),
    "rejected": ("驳回", "rejected"), "fraud_triple": ("退一赔三", "refund plus triple (退一赔三)"),
}
QUEUES: Names = {
    "mine": ("我的案件", "Mine"), "unassigned": ("未分派", "Unassigned"),
    "breaching": ("即将超时", "Breaching soon"), "breached": ("已超时", "Breached"),
    "waiting": ("等待投诉人", "Waiting on the complainant"), "all": ("全部", "All"),
}
UI: Names = {
    "title": ("投诉处理台", "Complaints console"), "sign_in": ("登录", "Sign in"),
    "sign_in_oidc": ("使用单位账号登录", "Sign in with your organisation's account"), "sign_out": ("退出", "Sign out"),
    "token": ("访问令牌", "Access token"),
    "token_help": ("粘贴您的访问令牌（本地运行）。", "Paste your access token (local runs)."),
    "queues": ("工作队列", "Queues"), "analytics": ("统计", "Analytics"), "ticket": ("受理编号", "Ticket"),
    "state": ("状态", "State"), "tier": ("层级", "Tier"),
    "category": ("类型", "Category"), "merchant": ("商家", "Merchant"),
    "due": ("最近截止", "Nearest deadline"), "assignee": ("处理人", "Assignee"), "none": ("无", "none"),
    "who_acts": ("现在由谁处理", "Who must act now"), "clocks": ("时限", "Clocks"), "owner": ("负责方", "Owner"),
    "timeline": ("时间线", "Timeline"), "evidence": ("证据", "Evidence"), "assessment": ("证据审核", "Assessment"),
    "missing": ("缺少", "Missing"), "complete": ("证据已齐全", "The evidence is complete"),
    "intact": ("完好", "intact"),
    "tampered": ("被篡改", "tampered"), "actions": ("可执行的操作", "Actions allowed now"),
    "dossier": ("下载证据包（ZIP）", "Download the dossier (ZIP)"), "trace": ("调用链", "Trace"),
    "what_happened": ("事情经过", "What happened"), "demand": ("诉求", "Demand"), "order": ("订单", "Order"),
    "reason": ("理由", "Reason"), "items": ("需要的证据", "Evidence to request"), "outcome": ("处理方式", "Outcome"),
    "override": ("证据不全仍继续的理由（可选）", "Reason to go ahead without the missing evidence (optional)"),
    "target": ("升级到", "Escalate to"),
    "beijing": ("北京时间", "Beijing time"), "your_time": ("您的时间", "your time"),
    "overdue": ("已超时", "overdue"), "left": ("剩余", "left"), "no_cases": ("没有案件", "No cases"),
    "status_title": ("投诉进度", "Your complaint"), "next_step": ("下一步", "What to do next"),
    "by_when": ("截止", "by"), "checklist": ("证据清单", "Evidence checklist"), "uploaded": ("已上传", "uploaded"),
    "needed": ("待上传", "needed"), "take_photo": ("拍照或选择图片", "Take a photo or choose a picture"),
    "proposal": ("处理方案", "Proposed resolution"), "your_deadlines": ("您自己的期限", "Your own deadlines"),
    "where_to_go": ("去哪里办理", "Where to go"), "nothing_to_do": ("目前无需您操作。", "Nothing for you to do now."),
    "link_refused": ("链接无效或已过期，请使用通知中的最新链接。",
                     "This link is not valid or has expired; use the latest link from your notice."),
    "hot_merchants": ("投诉最多的商家", "Hot merchants"), "sla": ("各时限达成率", "SLA attainment per clock"),
    "resolution_time": ("解决用时（小时）", "Time to resolution (hours)"), "median": ("中位数", "median"),
    "done": ("已完成", "Done"), "refused": ("未能执行", "Refused"), "language": ("English", "中文"),
    "signed_in_as": ("当前用户", "Signed in as"), "open_case": ("打开", "Open"), "amount": ("金额", "Amount"),
    "withdraw_confirm": ("确认撤回投诉", "I want to withdraw the complaint"), "file": ("文件", "File"),
    "csrf": ("表单已失效，请刷新页面后重试。", "The form expired; reload the page and try again."),
}


def say(table: Names, code: str | None, lang: str) -> str:
    """The reader's word for a code (the code itself when the table has none)."""
    if code is None:
        return ""
    names = table.get(code)
    if names is None:
        return code
    return names[0] if lang == "zh-CN" else names[1]


def language_of(value: str | None) -> str:
    """A supported language: zh-CN unless English is asked for."""
    return "en" if value and value.lower().startswith("en") else "zh-CN"
