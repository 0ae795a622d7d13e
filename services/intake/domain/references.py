"""References given by regulators and channels (12315 受理号, dispute and case numbers) stay readable.

The shared masking (shared/masking.py) hides every long digit run, so a 12315 acceptance number
the buyer quotes came back as ****0123 to the agent who must look it up. A reference is known by
the label in front of it (12315, 受理号, 工单号, 争议单号, case number, dispute id …); the token right
after the label is kept whole, and everything else is masked as before. A token after a label
that is itself shaped like a mainland mobile number, a card key (dash-grouped letters and digits)
or a card number (13–19 digits passing the Luhn check, starting 3–6, as Visa, Mastercard,
UnionPay, Amex and JCB do) is masked all the same: a label typed in front of a phone number, a
key or a card number must not unmask it.
"""

from __future__ import annotations

import re
from typing import Any

from shared.masking import SYSTEM_IDS, scrub

# Regulators' and channels' own words for the number they gave; "12315" may stand alone or lead.
_ZH_LABELS = (
    "受理编号|受理单号|受理号|投诉编号|投诉单号|投诉号|工单编号|工单号|案件编号|案件号|案号|争议编号|争议单号|"
    "纠纷编号|纠纷单号|申诉编号|申诉单号|拒付编号|退款编号|交易单号|交易号|流水号|回执编号|报案编号"
)
_EN_NOUNS = r"case|ticket|complaint|dispute|claim|chargeback|transaction|acceptance|reference|ref"
_EN_TAILS = r"(?:\s*(?:number|no\.?|num|id|#|reference|ref))?"
_LABEL = (
    rf"(?:12315(?:\s*(?:平台|热线|投诉|受理))*(?:\s*(?:{_ZH_LABELS}))?"
    rf"|(?:{_ZH_LABELS})"
    rf"|(?<![A-Za-z])(?:{_EN_NOUNS}){_EN_TAILS}(?![A-Za-z]))"
)
# The token must follow the label at once (separators only) and end there: "受理号 4111 1111 …"
# (digits going on after a space) is no single reference and is left to the masking.
_REFERENCE = re.compile(
    rf"{_LABEL}[\s:：#＃=为是]{{0,4}}(?P<ref>(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{{3,63}})(?![A-Za-z0-9-])(?!\s?\d)",
    re.IGNORECASE,
)
_MOBILE = re.compile(r"\+?(?:86)?1[3-9]\d{9}")
_CARD = re.compile(r"[3-6]\d{12,18}")
# The shape shared.masking gives card keys: dash-grouped runs of letters and digits.
_KEY = re.compile(r"(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]{4,}(?:-[A-Za-z0-9]{4,}){2,}")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_secret_shaped(*, token: str) -> bool:
    """Tell whether a labelled token is shaped like a mobile number, card key or card number (then it is masked)."""
    return (bool(_MOBILE.fullmatch(token)) or bool(_KEY.fullmatch(token))
            or (bool(_CARD.fullmatch(token)) and _luhn(token)))


def references_in(*, text: str) -> list[str]:
    """The references the text gives after a regulator's or channel's label, in order."""
    return [m.group("ref") for m in _REFERENCE.finditer(text) if not is_secret_shaped(token=m.group("ref"))]


def scrub_keeping_references(text: str) -> str:
    """Mask card keys, card numbers, passwords and phone numbers as shared.masking.scrub does,
    keeping labelled references (12315 受理号, dispute or case numbers) whole."""
    pieces: list[str] = []
    last = 0
    for match in _REFERENCE.finditer(text):
        if is_secret_shaped(token=match.group("ref")):
            continue
        pieces += [scrub(text[last:match.start("ref")]), match.group("ref")]
        last = match.end("ref")
    pieces.append(scrub(text[last:]))
    return "".join(pieces)


def scrub_deep_keeping_references(value: Any) -> Any:
    """shared.masking.scrub_deep with labelled references kept whole (system ids returned whole too)."""
    if isinstance(value, str):
        return scrub_keeping_references(value)
    if isinstance(value, dict):
        return {k: v if k in SYSTEM_IDS and isinstance(v, str) else scrub_deep_keeping_references(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_deep_keeping_references(v) for v in value]
    return value
