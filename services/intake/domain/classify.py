"""Infer a complaint's category from its text with zh-CN and English keyword rules."""

import re
import unicodedata
from dataclasses import dataclass

from .schemas import Category, NewComplaint

# Used when no rule matches: failed or late delivery is the commonest virtual-goods complaint,
# and the low confidence tells agents to check it.
DEFAULT_CATEGORY = Category.NOT_DELIVERED
DEFAULT_CONFIDENCE = 0.1

_C = Category
# Order is the tie-break: on equal scores the more serious category wins, so urgent cases are
# never filed as a service complaint. Weights below 1 mark categories usually mentioned in passing.
_RULES: tuple[tuple[Category, float, tuple[str, ...]], ...] = (
    (_C.UNAUTHORIZED_CHARGE, 1.0, (
        r"盗刷", r"被盗(用|刷)?", r"盗用", r"陌生(的)?(交易|扣款|消费)", r"未经(我的?)?(授权|同意)",
        r"(不是我|非本人|本人未|我没有?)(本人)?(操作|购买|消费|支付)",
        r"unauthori[sz]ed", r"stolen (credit |debit )?card", r"card (was |got )?stolen",
        r"(did ?n[o']t|never) (make|authori[sz]e) (this|these|the|that)",
        r"fraudulent (charge|transaction|payment)s?", r"unknown (charge|transaction|payment)s?",
    )),
    (_C.DATA_LEAK, 1.0, (
        r"泄露|泄漏", r"信息被(盗|卖|倒卖)", r"(异地|陌生|异常)登录", r"data (leak|breach)",
        r"(personal )?(information|data|details) (was |were |has been |have been )?(leaked|exposed|sold)",
        r"(strange|unknown|suspicious|unrecogni[sz]ed) log-?ins?",
    )),
    (_C.MERCHANT_FRAUD, 1.0, (
        r"虚假宣传", r"跑路", r"诈骗", r"骗子", r"骗钱", r"假货", r"盗版", r"假卡密?", r"退一赔三",
        r"(店铺|商家)(已)?(关闭|消失|不见|失联)",
        r"\bscam", r"fraud(ulent)? (merchant|seller|shop|store)", r"(merchant|seller|shop) (is a )?fraud",
        r"fake (keys?|licen[cs]es?|delivery|cards?)", r"pirated", r"false advertis",
        r"(shop|store|seller|merchant) (has )?(disappeared|vanished|ran away)",
    )),
    (_C.CHARGED_NO_ORDER, 1.0, (
        r"(扣款|扣了钱|扣钱|扣费|已扣|钱被扣|付款成功|支付成功)[^。.!！]{0,20}(没有|无|未生成|没|查不到)[^。.!！]{0,4}订单",
        r"(交易|订单|下单)(失败|未成功)[^。.!！]{0,20}(扣款|扣钱|扣了|已扣|扣费)", r"掉单",
        r"charged but (there is |there's |with )?no order", r"(no|without an?) order (was )?(created|placed|found)",
        r"(money|payment|amount) (was )?(taken|deducted|debited)[^.!]{0,40}(no|without|failed) order",
        r"order failed[^.!]{0,40}(charged|debited|deducted)",
    )),
    (_C.INVALID_CARD_KEY, 1.0, (
        r"卡密[^。.!！]{0,6}(无效|错误|不对|已被使用|已使用|被用|用不了|不能用|失效|不可用)",
        r"已被(使用|激活|兑换)", r"已(经)?激活", r"(激活码|兑换码|充值码)[^。.!！]{0,6}(无效|错误|不能用)",
        r"invalid (card )?(key|code)s?",
        r"(key|code)s?\b[^.!;]{0,30}\b(is|are|was|were) (invalid|not valid|rejected)",
        r"(key|code)s? (is |are |was |were |has been )?already (used|redeemed|activated)",
        r"already (been )?(used|redeemed|activated)",
    )),
    (_C.WRONG_DELIVERY, 1.0, (
        r"货不对板", r"(面值|面额|金额|规格|型号)(不对|不符|错误|错了)", r"发错", r"少发", r"数量不(对|足)",
        r"wrong (denomination|item|product|value|amount|edition|region|version)", r"instead of (the )?\d+",
        r"not what I (ordered|bought)",
    )),
    (_C.NOT_DELIVERED, 1.0, (
        r"未到账", r"没(有)?到账", r"没(有)?收到", r"未收到", r"未发货", r"没(有)?发货", r"不发货",
        r"(充值|点券|卡密)[^。.!！]{0,6}(没|未)到",
        r"not (been )?(received|delivered)", r"never (arrived|received|delivered|got)", r"not credited",
        r"(did ?n[o']t|have ?n[o']t|has ?n[o']t) (receive|arrive|been delivered|been credited)",
    )),
    (_C.REFUND_REFUSED, 1.0, (
        r"拒绝退款", r"不(给|予)?退款", r"不给退", r"不退钱", r"不支持退款", r"不退不换", r"概不退", r"(7|七)天无理由",
        r"退款[^。.!！]{0,6}(被拒|驳回|拖延|迟迟|不处理)",
        r"refunds? (was |were |is )?(refused|denied|rejected|declined)", r"refuse[sd]? (to )?(give (me )?a )?refund",
        r"won'?t refund", r"no refunds?", r"refund[^.!]{0,20}delayed",
    )),
    (_C.ACCOUNT_RESTRICTED, 1.0, (
        r"冻结", r"风控", r"封号", r"封禁", r"限制(登录|交易|提现|使用|支付)", r"账号(被)?(限制|封)",
        r"account (was |is |has been |got )?(frozen|locked|suspended|restricted|banned|blocked)",
        r"\bfrozen\b", r"risk control",
    )),
    (_C.SLOW_OR_RUDE_SERVICE, 0.5, (
        r"客服[^。.!！]{0,6}(不回复|不回|不理|没人|态度差|态度恶劣|敷衍|推脱)", r"踢皮球", r"推诿", r"互相推",
        r"(无|没)人(处理|回复|理)", r"石沉大海",
        r"no (reply|response|answer) from", r"\bignored\b", r"\brude\b", r"runaround",
        r"(support|service|merchant|seller) (never|does ?n[o']t|did ?n[o']t) (reply|respond|answer)",
        r"passed (me )?(around|back and forth)",
    )),
)
_COMPILED = tuple((cat, weight, re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE))
                  for cat, weight, pats in _RULES)


@dataclass(frozen=True)
class Classification:
    """A category with its confidence (0..1), the text that matched, and whether it was inferred."""

    category: Category
    confidence: float
    keywords: tuple[str, ...]
    inferred: bool = True


def _normalise(text: str) -> str:
    # NFKC folds full-width letters and digits (ＫＥＹ, １００) typed with Chinese input methods.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).lower()


def classify(*, text: str) -> Classification:
    """Infer the category of `text`; DEFAULT_CATEGORY with DEFAULT_CONFIDENCE when nothing matches."""
    folded = _normalise(text)
    scored: list[tuple[float, int, Category, tuple[str, ...]]] = []
    for rank, (category, weight, pattern) in enumerate(_COMPILED):
        # Non-overlapping matches, so one phrase is not counted twice by two of its patterns.
        hits = tuple(dict.fromkeys(m.group(0) for m in pattern.finditer(folded)))
        if hits:
            scored.append((weight * len(hits), -rank, category, hits))
    if not scored:
        return Classification(category=DEFAULT_CATEGORY, confidence=DEFAULT_CONFIDENCE, keywords=())
    score, _, category, hits = max(scored)
    share = score / sum(entry[0] for entry in scored)
    strength = min(0.95, 0.5 + 0.15 * score)
    return Classification(category=category, confidence=round(strength * share, 2), keywords=hits)


def resolve_category(*, complaint: NewComplaint) -> Classification:
    """Keep the filer's category (confidence 1, not inferred) or infer one from the complaint text."""
    if complaint.category is not None:
        return Classification(category=complaint.category, confidence=1.0, keywords=(), inferred=False)
    parts = [complaint.description.what_happened, complaint.order.item]
    parts += [str(getattr(complaint.demand, name, None) or "") for name in ("text", "note")]
    return classify(text="\n".join(parts))
