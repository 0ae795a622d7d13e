"""The merchant's burden: what a merchant contesting a complaint must prove, and what it has."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from shared.contracts.vocabulary import Category

from .kinds import EvidenceKind, SubmittedEvidence

#: Complaints about the goods themselves, where "the merchant must prove it delivered" (002):
#: nothing arrived, the wrong thing arrived, the key does not work, the goods were a fraud, or a
#: refund was refused on the ground that the goods were delivered.
BURDEN_CATEGORIES = frozenset({Category.NOT_DELIVERED, Category.WRONG_DELIVERY,
                               Category.INVALID_CARD_KEY, Category.MERCHANT_FRAUD,
                               Category.REFUND_REFUSED})

# Words of an order's item or a complaint that name a software licence (软件授权, 004); for such
# goods the merchant must also show where its licences come from (授权来源证明, 003).
_LICENCE_WORDS = ("软件", "授权码", "激活码", "许可证", "序列号", "产品密钥", "正版授权",
                  "licence", "license", "activation key", "product key", "serial key",
                  "windows", "office 20", "microsoft 365", "adobe", "autocad", "jetbrains")


class Piece(BaseModel):
    """One piece of the merchant's proof, in both languages; `evidence` numbers what shows it."""

    model_config = ConfigDict(frozen=True)

    code: str
    en: str
    zh: str
    evidence: list[int] = []


class MerchantSide(BaseModel):
    """What the merchant has proven and still lacks; `burden_met` None when no burden applies."""

    model_config = ConfigDict(frozen=True)

    applies: bool
    burden_met: bool | None
    proven: list[Piece]
    missing: list[Piece]
    guidance_en: str
    guidance_zh: str


_DELIVERY = Piece(code="delivery_record",
                  en="a delivery record naming this order: when the goods (the card key) were "
                     "issued and to which account",
                  zh="写明本订单号的发货/卡密发放记录：发放时间和接收账号")
_LICENCE = Piece(code="licence_source",
                 en="proof of where the software licence comes from (the rights holder's or "
                    "an authorised distributor's authorisation)",
                 zh="授权来源证明（如官方授权书、授权分销协议）")


def is_software_licence(*, texts: Sequence[str]) -> bool:
    """Whether the goods are a software licence, as the order's item or the complaint names them."""
    joined = " ".join(texts).lower()
    return any(word in joined for word in _LICENCE_WORDS)


def merchant_side(*, category: str, items: Sequence[tuple[int, SubmittedEvidence]],
                  software_licence: bool) -> MerchantSide:
    """Judge the merchant's own items (numbered, already found relevant) against its burden."""
    try:
        applies = Category(category) in BURDEN_CATEGORIES
    except ValueError:
        applies = False
    needed = [(_DELIVERY, EvidenceKind.DELIVERY_RECORD)]
    if software_licence:
        needed.append((_LICENCE, EvidenceKind.LICENCE_SOURCE))
    proven, missing = [], []
    for piece, kind in needed:
        numbers = [n for n, item in items if item.kind is kind]
        if numbers:
            proven.append(piece.model_copy(update={"evidence": numbers}))
        elif applies:
            missing.append(piece)
    if not applies:
        return MerchantSide(applies=False, burden_met=None, proven=proven, missing=[],
                            guidance_en="This complaint puts no burden of proof on the merchant.",
                            guidance_zh="本投诉无需商家举证。")
    if not missing:
        en = "The merchant has proven delivery" + (" and the licence source." if software_licence
                                                     else ".")
        zh = "商家已证明发货" + ("及授权来源。" if software_licence else "。")
    else:
        en = "The merchant must prove it delivered; still missing:"
        zh = "商家须证明已发货，仍缺少："
        for n, piece in enumerate(missing, start=1):
            en += f"\n{n}. {piece.en[0].upper()}{piece.en[1:]}."
            zh += f"\n{n}. {piece.zh}。"
    return MerchantSide(applies=True, burden_met=not missing, proven=proven, missing=missing,
                        guidance_en=en, guidance_zh=zh)
