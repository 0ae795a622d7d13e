"""Remove secrets (card keys, card numbers, passwords) and mask contacts in outgoing text."""

import re
from collections.abc import Iterable

_LABELLED_SECRET = re.compile(
    r"(?P<label>(?<![A-Za-z])(?:password|passwd|pwd|passcode|pin|card[ _-]?key|card[ _-]?secret|cvv|cvc"
    r"|密码|卡密|口令|支付密码|激活码)\s*(?:[:：=]|\bis\b)\s*)(?P<value>[^\s,;，；。<]+)",
    re.IGNORECASE,
)
_DIGIT_RUN = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?![\w])")
# Card keys come as long mixed tokens (X7K9P2M4Q8R1T5W3) or dashed groups (ABCD-1234-EFGH-5678).
_KEY_TOKEN = re.compile(r"(?<![\w-])(?:[A-Za-z0-9]{4,6}(?:-[A-Za-z0-9]{4,6}){2,}|[A-Za-z0-9]{16,})(?![\w-])")
_MOBILE = re.compile(r"(?<!\d)(?P<cc>\+?86[ -]?)?(?P<head>[1１][3-9３-９]\d)(?P<mid>\d{4})(?P<tail>\d{4})(?!\d)")
_EMAIL = re.compile(r"(?P<first>[A-Za-z0-9])[A-Za-z0-9._%+-]*@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# References a regulator or channel gave (a 12315 受理号, a channel's case number) are recognised by
# the label before them and kept whole: the reader filed them and must be able to quote them. A bare
# digit run, or one after 卡号/电话, is still judged as a card or phone number.
_REFERENCE = re.compile(
    r"(?P<label>(?:12315|12345|96110)?\s*(?:平台)?(?:受理号|受理编号|受理单号|投诉编号|投诉单号|案件编号|举报编号|工单号|工单编号"
    r"|交易单号|交易号|争议编号|回执编号|报案编号|(?<![A-Za-z])(?:reference|ref\.|case\s*(?:no\.|number|id)"
    r"|complaint\s*(?:no\.|number)|dispute\s*(?:no\.|number|id)|transaction\s*id)(?![A-Za-z]))"
    r"\s*(?:is\b)?\s*[:：#=]?\s*|12315\s*[:：#]?\s*)(?P<value>[A-Za-z0-9][A-Za-z0-9-]{3,39})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
HIDDEN = "****"
# Every reference label holds one of these (casefolded; re's IGNORECASE also lets "ı" stand for "i"):
# text holding none has no reference, and is not searched for one (the search is most of a scrub).
_REFERENCE_WORDS = ("12315", "受理", "投诉编号", "投诉单号", "案件编号", "举报编号", "工单", "交易", "争议编号",
                    "回执编号", "报案编号", "ref", "case", "complaint", "dispute", "transaction")


def _may_hold_reference(text: str) -> bool:
    folded = text.casefold().replace("ı", "i")
    return any(word in folded for word in _REFERENCE_WORDS)


def references(text: str) -> list[str]:
    """The references a regulator or channel gave that text quotes, each with its label (12315 受理号 …)."""
    return [" ".join(m.group().split()) for m in _REFERENCE.finditer(text)
            if any(c.isdigit() for c in m.group("value"))]


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn check used by payment cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_number(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return HIDDEN + digits[-4:]
    return match.group()


def _card_key(match: re.Match[str]) -> str:
    token = match.group()
    # Pure letters are words or names, pure digits were judged as card numbers already.
    has_letter = any(c.isalpha() for c in token)
    has_digit = any(c.isdigit() for c in token)
    return HIDDEN if has_letter and has_digit else token


def scrub(text: str, *, mask_contacts: bool = False, keep: Iterable[str] = (), find_references: bool = True) -> str:
    """Return text with secrets hidden; phone and email masked when mask_contacts is set.

    `keep` is shown as it is; so are the references a regulator or channel gave that the text
    quotes, found in it unless `find_references` is off (text whose every reference is in `keep`)."""
    labelled = [m.group("value") for m in _REFERENCE.finditer(text)] \
        if find_references and _may_hold_reference(text) else []
    kept = sorted({k for k in (*keep, *labelled) if k}, key=len, reverse=True)
    # Ticket and order numbers look like keys; shield them so readers can still quote them.
    for index, token in enumerate(kept):
        text = text.replace(token, f"\ue000{index}\ue001")
    text = _LABELLED_SECRET.sub(lambda m: m.group("label") + HIDDEN, text)
    text = _DIGIT_RUN.sub(_card_number, text)
    text = _KEY_TOKEN.sub(_card_key, text)
    if mask_contacts:
        text = _MOBILE.sub(lambda m: f"{m.group('cc') or ''}{m.group('head')}****{m.group('tail')}", text)
        text = _EMAIL.sub(lambda m: f"{m.group('first')}***@{m.group('domain')}", text)
    for index, token in enumerate(kept):
        text = text.replace(f"\ue000{index}\ue001", token)
    return text
