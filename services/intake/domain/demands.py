"""The one concrete demand of a complaint: a union discriminated by `type`, vague wishes refused."""

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .fields import Count, CurrencyCode, MinorUnits, RequestModel, ShortText, Text

GUIDANCE_EN = (
    "State one concrete demand the platform can carry out, e.g. \"refund 29 CNY and 10 CNY for "
    "the delay\", \"reissue 2 valid keys\" or \"unfreeze my account\". A demand such as \"give me "
    "an explanation\" cannot be acted on: use type refund, refund_and_compensation, fraud_triple, "
    "reissue, compensation or unfreeze, or say in `other` what should be done, how much or how many."
)
GUIDANCE_ZH = (
    "请提出一个平台可以执行的具体诉求，例如“退款 29 元并补偿延迟 10 元”“补发 2 张有效卡密”"
    "“解冻账号”。“给我一个说法”这类诉求无法处理：请选择退款、退款并赔偿、退一赔三、补发、赔偿或解冻，"
    "或在“其他”中写明要做什么、金额或数量。"
)

# "Actionable" means the text names an action, an amount or a count; anything else (给我一个说法,
# "explain yourselves") leaves an agent nothing to carry out.
_ACTION = re.compile(
    r"退款|退钱|退还|退回|返还|退费|补发|重发|补单|换货|更换|赔偿|补偿|赔付|解冻|解封|解除(限制|冻结)"
    r"|恢复(账号|账户|使用|登录)|删除(我的)?(个人)?(信息|数据|资料|账号)|注销|销户|撤销|止付|道歉"
    r"|取消(这笔|该|我的)?(订单|扣款|交易|续费|自动续费)"
    r"|refund|reimburse|money back|re-?issue|re-?send|replace|compensat|unfreeze|unlock|unban"
    r"|restore|reinstate|(delete|erase) my|close my|charge ?back|apolog"
    r"|cancel (the |my |this )?(order|charge|subscription|transaction)",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"\d+(\.\d+)?\s*(元|块|rmb|cny|usd|eur|yuan|dollars?)|[¥$€£]\s*\d", re.IGNORECASE
)
# "个" only after digits: "一个说法" (an explanation) must not read as a count of goods.
_COUNT = re.compile(
    r"(\d+|[一二两三四五六七八九十])\s*(张|份|组)|\d+\s*(个|(valid |new )?(keys?|codes?|cards?))", re.IGNORECASE
)


def is_actionable(*, text: str) -> bool:
    """Tell whether free demand text names an action, an amount or a count."""
    folded = unicodedata.normalize("NFKC", text)
    return any(p.search(folded) for p in (_ACTION, _AMOUNT, _COUNT))


def vague_demand_error() -> PydanticCustomError:
    """Build the `actionable_demand` error carrying guidance in English and zh-CN."""
    return PydanticCustomError(
        "actionable_demand", "The demand is not actionable. {guidance}",
        {"guidance": GUIDANCE_EN, "message_zh": "诉求不具体，无法处理。" + GUIDANCE_ZH},
    )


def _required(field: str, en: str, zh: str) -> PydanticCustomError:
    return PydanticCustomError("required", en, {"at": field, "message_zh": zh})


class CompensationBasis(StrEnum):
    """Why compensation is owed: delay, triple compensation for fraud (退一赔三), loss or other."""

    DELAY = "delay"
    TRIPLE = "triple"
    LOSS = "loss"
    OTHER = "other"


def _currency_field() -> Any:
    return Field(
        default=None, title="币种 / Currency",
        description="ISO 4217 代码；省略时取订单币种。ISO 4217 code; defaults to the order currency.",
        examples=["CNY"],
    )


def _note_field() -> Any:
    return Field(default=None, max_length=500, title="备注 / Note", description="补充说明。Extra detail.")


class RefundDemand(RequestModel):
    """Refund the whole order or part of it."""

    type: Literal["refund"] = Field(title="诉求类型 / Demand type", description="refund：退款。")
    mode: Literal["full", "partial"] = Field(
        title="退款方式 / Refund mode", description="full 全额退款，partial 部分退款。Full or partial.",
        examples=["full", "partial"],
    )
    amount: MinorUnits | None = Field(
        default=None, title="退款金额 / Refund amount",
        description="最小货币单位（分）；部分退款必填。Minor units (fen/cents); required when partial.",
        examples=[2900],
    )
    currency: CurrencyCode | None = _currency_field()

    @model_validator(mode="after")
    def _partial_needs_amount(self) -> "RefundDemand":
        if self.mode == "partial" and self.amount is None:
            raise _required("amount", "A partial refund needs an amount", "部分退款必须填写退款金额")
        return self


class ReissueDemand(RequestModel):
    """Reissue valid card keys or redo the top-up."""

    type: Literal["reissue"] = Field(title="诉求类型 / Demand type", description="reissue：补发。")
    count: Count = Field(
        title="补发数量 / Count", description="需要补发的卡密或充值份数。How many keys or top-ups.",
        examples=[2],
    )
    note: Text | None = _note_field()


class CompensationDemand(RequestModel):
    """Compensation alone on a stated basis; 退一赔三 with its refund part is type fraud_triple."""

    type: Literal["compensation"] = Field(title="诉求类型 / Demand type", description="compensation：赔偿。")
    amount: MinorUnits = Field(
        title="赔偿金额 / Amount", description="最小货币单位（分）。Minor units (fen/cents).", examples=[8700]
    )
    currency: CurrencyCode | None = _currency_field()
    basis: CompensationBasis = Field(
        title="赔偿依据 / Basis",
        description="delay 延迟补偿，triple 退一赔三（欺诈），loss 实际损失，other 其他（需备注）。"
        "Delay, triple (fraud), actual loss, or other (explain in note).",
        examples=["triple", "delay"],
    )
    note: Text | None = _note_field()

    @model_validator(mode="after")
    def _other_basis_needs_note(self) -> "CompensationDemand":
        if self.basis is CompensationBasis.OTHER and not self.note:
            raise _required("note", "Basis 'other' needs a note saying why", "赔偿依据为“其他”时必须填写备注")
        return self


class UnfreezeDemand(RequestModel):
    """Lift a risk-control freeze on an account or order."""

    type: Literal["unfreeze"] = Field(title="诉求类型 / Demand type", description="unfreeze：解冻。")
    account: ShortText | None = Field(
        default=None, max_length=128, title="被冻结的账号 / Frozen account",
        description="平台上的账号或订单标识。Account or order reference on the platform.",
        examples=["game-uid-778812"],
    )
    note: Text | None = _note_field()


class OtherDemand(RequestModel):
    """Any other concrete demand, stated in words that name an action, amount or count."""

    type: Literal["other"] = Field(title="诉求类型 / Demand type", description="other：其他具体诉求。")
    text: Text = Field(
        max_length=500, title="诉求内容 / Demand",
        description="写明要做什么、金额或数量。Say what should be done, how much or how many.",
        examples=["删除我在平台上的全部个人信息", "Cancel the auto-renewal and refund the last 30 CNY"],
    )

    @model_validator(mode="after")
    def _actionable(self) -> "OtherDemand":
        if not is_actionable(text=self.text):
            raise vague_demand_error()
        return self


class RemedyBasis(StrEnum):
    """Why compensation is owed on top of a refund; 退一赔三 has a demand type of its own."""

    DELAY = "delay"
    LOSS = "loss"
    OTHER = "other"


class MoneyAmount(RequestModel):
    """An amount of money: integer minor units and an ISO 4217 currency (the order's when left out)."""

    amount_minor: MinorUnits = Field(
        title="金额 / Amount", description="最小货币单位（分）。Minor units (fen/cents).", examples=[2900]
    )
    currency: CurrencyCode | None = _currency_field()


class RefundPart(RequestModel):
    """The refund part of a combined demand."""

    mode: Literal["full", "partial"] = Field(
        title="退款方式 / Refund mode", description="full 全额退款，partial 部分退款。Full or partial.",
        examples=["full"],
    )
    amount: MoneyAmount | None = Field(
        default=None, title="退款金额 / Refund amount",
        description="部分退款必填；全额退款即支付金额。Required when partial; a full refund is the amount paid.",
    )

    @model_validator(mode="after")
    def _partial_needs_amount(self) -> "RefundPart":
        if self.mode == "partial" and self.amount is None:
            raise _required("amount", "A partial refund needs an amount", "部分退款必须填写退款金额")
        return self


class CompensationPart(RequestModel):
    """The compensation part of a combined demand, with its basis."""

    amount: MoneyAmount = Field(title="赔偿金额 / Compensation amount", description="赔偿金额。How much.")
    basis: RemedyBasis = Field(
        title="赔偿依据 / Basis",
        description="delay 延误补偿，loss 实际损失，other 其他（需备注）；退一赔三请用 fraud_triple 类型。"
        "Delay, actual loss, or other (explain in note); for 退一赔三 use type fraud_triple.",
        examples=["delay"],
    )
    note: Text | None = _note_field()

    @model_validator(mode="before")
    @classmethod
    def _triple_has_its_own_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("basis") in ("triple", "fraud_triple"):
            raise PydanticCustomError(
                "use_fraud_triple",
                "退一赔三 is demand type fraud_triple: intake computes the refund and the threefold "
                "compensation (at least 500 CNY) from the order",
                {"at": "basis", "message_zh": "退一赔三请选择诉求类型 fraud_triple："
                                              "退款及三倍赔偿（不足 500 元按 500 元）由系统按订单金额计算"},
            )
        return data

    @model_validator(mode="after")
    def _other_basis_needs_note(self) -> "CompensationPart":
        if self.basis is RemedyBasis.OTHER and not self.note:
            raise _required("note", "Basis 'other' needs a note saying why", "赔偿依据为“其他”时必须填写备注")
        return self


class RefundAndCompensationDemand(RequestModel):
    """One demand in two parts, e.g. seed 003's "refund 29 CNY and 10 CNY for the delay"."""

    type: Literal["refund_and_compensation"] = Field(
        title="诉求类型 / Demand type", description="refund_and_compensation：退款并赔偿。")
    refund: RefundPart = Field(title="退款 / Refund", description="退款部分。The refund part.")
    compensation: CompensationPart = Field(title="赔偿 / Compensation", description="赔偿部分。The compensation part.")


class FraudTripleDemand(RequestModel):
    """退一赔三 (消法 §55): the price back plus three times the price, at least 500 CNY; intake computes both."""

    type: Literal["fraud_triple"] = Field(
        title="诉求类型 / Demand type",
        description="fraud_triple：退一赔三（消费者权益保护法第五十五条），适用于商家欺诈或假冒商品。"
        "Refund plus threefold compensation for fraud or counterfeit goods.",
    )
    counterfeit: bool = Field(
        default=False, title="假冒商品 / Counterfeit",
        description="商品（卡密、授权）是假冒或伪造的；卡密无效、发错货的投诉须据此才可主张退一赔三。"
        "The goods were counterfeit or fake; needed for invalid-card-key and wrong-delivery complaints.",
        examples=[True],
    )
    note: Text | None = _note_field()


Demand = Annotated[
    RefundDemand | RefundAndCompensationDemand | FraudTripleDemand | ReissueDemand | CompensationDemand
    | UnfreezeDemand | OtherDemand,
    Field(discriminator="type"),
]
DEMAND_TYPES = frozenset({"refund", "refund_and_compensation", "fraud_triple", "reissue", "compensation",
                          "unfreeze", "other"})
