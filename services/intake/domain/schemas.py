"""Request bodies for filing a complaint, adding a statement and withdrawing, with bilingual docs."""

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.vocabulary import Category, PaymentChannel

from .demands import (
    CompensationDemand,
    Demand,
    MoneyAmount,
    RefundAndCompensationDemand,
    RefundDemand,
    ReissueDemand,
    vague_demand_error,
)
from .examples import COMPLAINT_EN, COMPLAINT_ZH
from .fields import (
    Count,
    CurrencyCode,
    Identifier,
    MinorUnits,
    PastUtc,
    RequestModel,
    ShortText,
    Text,
)


def hyphen_spelling(value: Any) -> Any:
    """Read the underscore spelling some callers still send (invalid_card_key) as the one shared spelling."""
    if isinstance(value, str) and "_" in value and value.replace("_", "-") in {c.value for c in Category}:
        return value.replace("_", "-")
    return value


def _phone(value: str) -> str:
    compact = re.sub(r"[\s()-]", "", value)
    if not re.fullmatch(r"\+?\d{6,15}", compact):
        raise PydanticCustomError(
            "phone", "Not a phone number: digits with an optional leading +, 6 to 15 digits",
            {"message_zh": "手机号格式不正确：6 到 15 位数字，可带 + 前缀"},
        )
    return compact


def _email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if not local or not re.fullmatch(r"[^@\s]+\.[^@\s.]{2,}", domain) or re.search(r"\s", local):
        raise PydanticCustomError("email", "Not an email address", {"message_zh": "邮箱格式不正确"})
    return f"{local}@{domain.lower()}"


class Contact(RequestModel):
    """How to reach the complainant: phone and/or email, at least one."""

    phone: Annotated[str, Field(strict=True, max_length=32), AfterValidator(_phone)] | None = Field(
        default=None, title="手机号 / Phone", description="手机号，可带国家码。Phone, country code optional.",
        examples=["13812345678", "+8613812345678"],
    )
    email: Annotated[str, Field(strict=True, max_length=254), AfterValidator(_email)] | None = Field(
        default=None, title="邮箱 / Email", description="联系邮箱。Email address.", examples=["alex@example.com"]
    )

    @model_validator(mode="after")
    def _one_way_to_reach(self) -> "Contact":
        if self.phone is None and self.email is None:
            raise PydanticCustomError(
                "contact_required", "Give a phone number or an email address (or both)",
                {"message_zh": "请至少填写手机号或邮箱之一"},
            )
        return self


class Complainant(RequestModel):
    """The buyer who files the complaint."""

    id: Identifier = Field(title="投诉人编号 / Complainant id",
                           description="平台上的用户编号。User id on the platform.", examples=["u-10086"])
    display_name: ShortText = Field(max_length=64, title="称呼 / Display name",
                                    description="显示名称。Name shown to staff.", examples=["张小明", "Alex Chen"])
    contact: Contact = Field(title="联系方式 / Contact", description="手机号和/或邮箱。Phone and/or email.")
    language: Literal["zh-CN", "en"] | None = Field(
        default=None, title="语言 / Language",
        description="通知所用语言；省略时按描述文字判断。"
                    "Language of notices; guessed from the description when left out.",
        examples=["zh-CN", "en"],
    )


class Merchant(RequestModel):
    """The seller complained about."""

    id: Identifier = Field(title="商户编号 / Merchant id", description="平台上的商户编号。Merchant id on the platform.",
                           examples=["m-2048"])
    name: ShortText = Field(max_length=120, title="商户名称 / Merchant name", description="店铺名称。Shop name.",
                            examples=["星辰点卡专营店", "Pixel Keys"])


class Order(RequestModel):
    """The order in dispute and how it was paid."""

    number: str = Field(
        strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./:#-]*$",
        title="订单号 / Order number",
        description="订单页上的订单号，最长 64 字符。Order number, at most 64 characters.",
        examples=["KM202611200001", "KS-88410-2026"],
    )
    item: ShortText = Field(max_length=200, title="商品 / Item", description="所购商品。What was bought.",
                            examples=["100元游戏点卡", "Office 2021 licence key"])
    denomination: ShortText | None = Field(
        default=None, max_length=64, title="面值 / Denomination", description="面值或规格。Face value or variant.",
        examples=["100元", "1000 points"],
    )
    quantity: Count = Field(default=1, title="数量 / Quantity", description="购买数量，至少 1。At least 1.",
                            examples=[1])
    amount: MinorUnits = Field(
        title="支付金额 / Amount paid",
        description="最小货币单位的整数（分），大于 0。Integer minor units (fen, cents), > 0.",
        examples=[9800, 2900],
    )
    currency: CurrencyCode = Field(title="币种 / Currency", description="ISO 4217 代码。ISO 4217 code.",
                                   examples=["CNY", "USD"])
    paid_at: PastUtc = Field(
        title="支付时间 / Paid at",
        description="带时区，不晚于当前时间，存为 UTC。With time zone, not in the future; stored in UTC.",
        examples=["2026-11-20T21:15:00+08:00", "2026-11-18T09:30:00Z"],
    )
    channel: PaymentChannel = Field(title="支付渠道 / Payment channel", description="支付方式。How it was paid.",
                                    examples=["alipay", "paypal"])
    transaction_id: ShortText | None = Field(
        default=None, max_length=128, title="支付流水号 / Payment transaction id",
        description="支付渠道的交易号，便于追溯资金流。The channel's transaction id, to trace the money.",
        examples=["2026112022001400001234567890"],
    )


class Description(RequestModel):
    """What happened, in the complainant's words."""

    what_happened: Text = Field(
        min_length=4, max_length=5000, title="经过 / What happened",
        description="时间、平台、商户与事件经过，4 到 5000 字。Time, platform, merchant, event; 4-5000 characters.",
        examples=["提取的卡密充值时提示“卡密已被使用”。", "The key was rejected as already redeemed."],
    )
    occurred_at: PastUtc = Field(title="发生时间 / Occurred at", description="问题发生时间。When it happened.",
                                 examples=["2026-11-20T21:20:00+08:00"])
    discovered_at: PastUtc | None = Field(default=None, title="发现时间 / Discovered at",
                                          description="发现问题的时间。When it was noticed.")


class NewComplaint(RequestModel):
    """A structured complaint: parties, order, optional category, what happened, one concrete demand."""

    model_config = ConfigDict(json_schema_extra={"examples": [COMPLAINT_ZH, COMPLAINT_EN]})

    complainant: Complainant = Field(title="投诉人 / Complainant", description="投诉人信息。Who complains.")
    platform: Identifier = Field(title="平台 / Platform", description="交易平台编号。Marketplace id.",
                                 examples=["kameng-example"])
    merchant: Merchant = Field(title="商户 / Merchant", description="被投诉商户。Merchant complained about.")
    order: Order = Field(title="订单 / Order", description="涉及的订单。The order in dispute.")
    category: Category | None = Field(
        default=None, title="投诉类型 / Category",
        description="省略时按文本推断。Inferred from the text when left out.",
        examples=["invalid-card-key", "merchant-fraud"],
    )
    description: Description = Field(title="事件描述 / Description", description="事件经过。What happened.")
    demand: Demand = Field(title="诉求 / Demand", description="一个具体诉求。One concrete demand.")

    @field_validator("category", mode="before")
    @classmethod
    def _one_spelling(cls, value: Any) -> Any:
        return hyphen_spelling(value)

    @field_validator("demand", mode="before")
    @classmethod
    def _demand_is_structured(cls, value: Any) -> Any:
        # A bare sentence ("给我一个说法") is the commonest vague demand: answer with guidance.
        if isinstance(value, str):
            raise vague_demand_error()
        return value

    @model_validator(mode="after")
    def _demand_fits_order(self) -> "NewComplaint":
        demand, order, told = self.demand, self.order, self.description
        if told.discovered_at is not None and told.discovered_at < told.occurred_at:
            raise _mismatch("discovered_before_occurred", "description.discovered_at",
                            "A problem cannot be discovered before it occurred", "发现时间不能早于发生时间")
        if isinstance(demand, RefundDemand | CompensationDemand):
            if demand.currency not in (None, order.currency):
                raise _mismatch("currency_mismatch", "demand.currency",
                                "The demand currency must be the order currency", "诉求币种必须与订单币种一致")
            demand.currency = order.currency
        if isinstance(demand, RefundDemand):
            if demand.mode == "full" and demand.amount not in (None, order.amount):
                raise _mismatch("full_refund_amount", "demand.amount",
                                "A full refund is the amount paid; omit the amount", "全额退款即支付金额，请勿另填金额")
            if demand.amount is not None and demand.amount > order.amount:
                raise _mismatch("refund_exceeds_order", "demand.amount", "A refund cannot exceed the amount paid",
                                "退款金额不能超过支付金额")
            demand.amount = demand.amount or order.amount
        if isinstance(demand, RefundAndCompensationDemand):
            _fit_parts(demand, order)
        if isinstance(demand, ReissueDemand) and demand.count > order.quantity:
            raise _mismatch("reissue_exceeds_quantity", "demand.count", "Cannot reissue more than the quantity ordered",
                            "补发数量不能超过购买数量")
        return self


def _in_order_currency(money: MoneyAmount, order: Order, at: str) -> None:
    if money.currency not in (None, order.currency):
        raise _mismatch("currency_mismatch", at, "The demand currency must be the order currency",
                        "诉求币种必须与订单币种一致")
    money.currency = order.currency


def _fit_parts(demand: RefundAndCompensationDemand, order: Order) -> None:
    """The refund part is at most the amount paid (a full one is exactly it); both parts in the order currency."""
    refund, compensation = demand.refund, demand.compensation
    if refund.amount is not None:
        _in_order_currency(refund.amount, order, "demand.refund.amount.currency")
        if refund.mode == "full" and refund.amount.amount_minor != order.amount:
            raise _mismatch("full_refund_amount", "demand.refund.amount",
                            "A full refund is the amount paid; omit the amount", "全额退款即支付金额，请勿另填金额")
        if refund.amount.amount_minor > order.amount:
            raise _mismatch("refund_exceeds_order", "demand.refund.amount", "A refund cannot exceed the amount paid",
                            "退款金额不能超过支付金额")
    else:
        refund.amount = MoneyAmount(amount_minor=order.amount, currency=order.currency)
    _in_order_currency(compensation.amount, order, "demand.compensation.amount.currency")


def _mismatch(rule: str, at: str, en: str, zh: str) -> PydanticCustomError:
    return PydanticCustomError(rule, en, {"at": at, "message_zh": zh})


class NewStatement(RequestModel):
    """A further statement by the complainant on an open complaint."""

    text: Text = Field(max_length=5000, title="补充陈述 / Statement",
                       description="补充说明，最多 5000 字。At most 5000 characters.",
                       examples=["商家承诺24小时内补发，但至今未收到。",
                                 "The merchant promised a new key within 24 h; none came."])
    occurred_at: PastUtc | None = Field(default=None, title="相关时间 / Occurred at",
                                        description="陈述所涉事件的时间。When the stated event happened.")


class WithdrawReason(StrEnum):
    """Why a complainant withdraws."""

    RESOLVED_BY_MERCHANT = "resolved-by-merchant"
    RESOLVED_ELSEWHERE = "resolved-elsewhere"
    FILED_BY_MISTAKE = "filed-by-mistake"
    OTHER = "other"


class Withdrawal(RequestModel):
    """Withdrawing a complaint, with the reason."""

    reason: Text = Field(max_length=1000, title="撤诉原因 / Reason",
                         description="撤诉原因。Why the complaint is withdrawn.",
                         examples=["商家已退款", "The merchant refunded me."])
    code: WithdrawReason = Field(default=WithdrawReason.OTHER, title="原因分类 / Reason code",
                                 description="原因分类。Reason category.", examples=["resolved-by-merchant"])


class CategoryCorrection(RequestModel):
    """An agent's correction of a complaint's category."""

    category: Category = Field(title="投诉类型 / Category", description="正确的投诉类型。The right category.",
                               examples=["unauthorized-charge", "not-delivered"])
    note: ShortText | None = Field(default=None, max_length=500, title="备注 / Note",
                                   description="更正原因。Why it was corrected.", examples=["用户补充说明为盗刷"])

    @field_validator("category", mode="before")
    @classmethod
    def _one_spelling(cls, value: Any) -> Any:
        return hyphen_spelling(value)


__all__ = ["Category", "CategoryCorrection", "Complainant", "Contact", "Description", "Merchant", "NewComplaint",
           "NewStatement", "Order", "PaymentChannel", "WithdrawReason", "Withdrawal"]
