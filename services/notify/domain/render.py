"""Render notifications from Jinja2 templates, falling back to a plain message on any failure."""

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .labels import COMPLAINANT_CLOCKS, VOCABULARIES, evidence_label, label, state_label, tier_label
from .notice import SHANGHAI, Language, Notice, Role, check_time_zone
from .scrub import scrub

TEMPLATES = {
    "ComplaintFiled": "complaint_filed",
    "ComplaintStatusChanged": "status_changed",
    "EvidenceAssessed": "evidence_assessed",
    "SlaWarning": "sla_warning",
    "SlaBreached": "sla_breached",
    "ResolutionProposed": "resolution_proposed",
    "ComplaintEscalated": "complaint_escalated",
    "AccountFreezeRequested": "freeze_requested",
    "AccountFreezeConfirmed": "freeze_confirmed",
}
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "BHD": 3, "KWD": 3}
# zh-CN names of the currencies a buyer meets most; others keep their ISO code.
_ZH_CURRENCY = {"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元", "JPY": "日元", "GBP": "英镑", "TWD": "新台币"}
_LOADER = FileSystemLoader(Path(__file__).parent / "templates")
# The templates ship with the package and do not change while it runs: not checked on disk at
# every render (auto_reload stats each template file per render, a twentieth of notify's CPU).
_OPTIONS: dict[str, Any] = {"undefined": StrictUndefined, "trim_blocks": True, "lstrip_blocks": True,
                            "auto_reload": False}
_TEXT = Environment(loader=_LOADER, autoescape=False, **_OPTIONS)
_HTML = Environment(loader=_LOADER, autoescape=True, **_OPTIONS)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Subject, plain text, HTML and SMS bodies; fallback is True when the template failed."""

    subject: str
    text: str
    html: str
    sms: str
    template: str
    fallback: bool = False
    error: str | None = None


def format_deadline(*, deadline: datetime, time_zone: str) -> dict[str, str | None]:
    """Deadline in Beijing time, plus the reader's local time when their zone differs."""
    shanghai = deadline.astimezone(ZoneInfo(SHANGHAI)).strftime("%Y-%m-%d %H:%M")
    if time_zone == SHANGHAI:
        return {"shanghai": shanghai, "local": None, "zone": SHANGHAI}
    local = deadline.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M %Z")
    return {"shanghai": shanghai, "local": local, "zone": time_zone}


def format_money(*, amount_minor: int, currency: str) -> str:
    """Integer minor units as a decimal amount with its ISO 4217 code."""
    digits = _MINOR_DIGITS.get(currency, 2)
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(amount_minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d} {currency}" if digits else f"{sign}{whole} {currency}"


def money_for(*, amount_minor: int | None, currency: str | None, language: Language) -> str | None:
    """An amount as the reader's language writes it (29.00 元 / 29.00 CNY); None when there is none."""
    if amount_minor is None or currency is None:
        return None
    text = format_money(amount_minor=amount_minor, currency=currency)
    if language is Language.ZH_CN and currency in _ZH_CURRENCY:
        return text[: -len(currency)] + _ZH_CURRENCY[currency]
    return text


def _reason(code: str | None, language: Language) -> str | None:
    # A reason may be a reason code, a clock's or a category's; free text is shown as given.
    if code is None:
        return None
    for vocabulary in ("reason", "clock", "category"):
        if code in VOCABULARIES[vocabulary]:
            return label(vocabulary=vocabulary, code=code, language=language)
    return code


def _owner(notice: Notice) -> str | None:
    # Events from before SlaWarning/SlaBreached named an owner: the policy's buyer clocks are the buyer's.
    if notice.owner:
        return notice.owner
    return "complainant" if notice.clock in COMPLAINANT_CLOCKS else None


def _context(notice: Notice, role: Role, language: Language, time_zone: str) -> dict[str, object]:
    def named(vocabulary: str, code: str | None) -> str | None:
        return label(vocabulary=vocabulary, code=code, language=language) if code else None

    proposal = notice.details.get("proposal") or notice.outcome
    return {
        "role": role.value,
        "ticket": notice.ticket,
        "event_type": notice.event_type,
        "order_no": notice.order_no,
        "reason": _reason(notice.reason, language),
        "clock": notice.clock,
        "clock_name": named("clock", notice.clock),
        "owner": _owner(notice),
        "stage": notice.stage,
        "refund": money_for(amount_minor=notice.refund_minor, currency=notice.refund_currency, language=language),
        "compensation": money_for(amount_minor=notice.compensation_minor, currency=notice.compensation_currency,
                                  language=language),
        "basis": notice.compensation_basis,
        "basis_name": named("compensation_basis", notice.compensation_basis),
        "automatic": notice.automatic,
        "freeze": [label(vocabulary="freeze", code=code, language=language) for code in notice.freeze],
        "channel": named("payment_channel", notice.payment_channel),
        "payment_channel": notice.payment_channel,
        "confirmed_by": named("party", notice.confirmed_by),
        "from_state": state_label(code=notice.from_state, language=language),
        "to_state": state_label(code=notice.to_state, language=language),
        "tier": tier_label(code=notice.tier, language=language),
        "missing": [evidence_label(code=code, language=language) for code in notice.missing_evidence],
        "amount": money_for(amount_minor=notice.amount_minor, currency=notice.currency, language=language),
        "proposal": named("outcome", proposal),
        "details": dict(notice.details),
        "deadline": format_deadline(deadline=notice.deadline, time_zone=time_zone) if notice.deadline else None,
    }


#: The parts of a rendered notice: what each channel reads of it (planning asks for those only).
PARTS = frozenset({"subject", "text", "html", "sms"})
#: What an in-app notice shows.
IN_APP_PARTS = frozenset({"subject", "text"})


def notice_for(notice: Notice, role: Role) -> Notice:
    """The facts one reader's notice is rendered from: the complainant's status link (a bearer link
    to their complaint) is in the complainant's only, the one reader whose templates show it."""
    if role is Role.COMPLAINANT or "status_link" not in notice.details:
        return notice
    return notice.model_copy(update={"details": {k: v for k, v in notice.details.items() if k != "status_link"}})


def _render(name: str, language: Language, context: dict[str, object],
            parts: frozenset[str] = PARTS) -> tuple[str, str, str, str]:
    text_template = _TEXT.get_template(name)
    subject = text = body = sms = ""
    if "subject" in parts:
        subject_parts = text_template.blocks["subject"](text_template.new_context(context))
        # One line only: a newline in a subject would let text leak into mail headers.
        subject = " ".join("".join(subject_parts).split())
    if "text" in parts:
        text = text_template.render(context, layout=f"{language}/layout.text.j2")
    if "sms" in parts:
        sms = " ".join(text_template.render(context, layout=f"{language}/layout.sms.j2").split())
    if "html" in parts:
        body = _HTML.get_template(name).render(context, layout=f"{language}/layout.html.j2")
    return subject, text, body, sms


_PLAIN = {
    Language.ZH_CN: ("[{ticket}] 投诉进展更新",
                     "投诉单 {ticket} 有新进展（{event}），请登录平台查看详情并按要求处理。",
                     "\n截止时间：{shanghai}（北京时间）", " / {local}（{zone}）"),
    Language.EN: ("[{ticket}] Complaint update",
                  "Complaint {ticket} has an update ({event}). "
                  "Please sign in to see the details and any action required.",
                  "\nDeadline: {shanghai} Beijing time", " / {local} ({zone})"),
}


def _plain(notice: Notice, language: Language, time_zone: str) -> tuple[str, str, str, str]:
    subject, text, due, local = _PLAIN[language]
    subject = subject.format(ticket=notice.ticket)
    # zh-CN readers get the event's Chinese name; English ones keep the type, as partners' logs show it.
    event = label(vocabulary="event", code=notice.event_type, language=language) if language is Language.ZH_CN \
        else notice.event_type
    text = text.format(ticket=notice.ticket, event=event)
    if notice.deadline:
        when = format_deadline(deadline=notice.deadline, time_zone=time_zone)
        text += due.format(**when) + (local.format(**when) if when["local"] else "")
    body = "<p>" + html.escape(text).replace("\n", "<br>") + "</p>"
    return subject, text + "\n", body, " ".join(text.split())


def _kept(notice: Notice) -> tuple[str, ...]:
    """What a rendering shows as it is: the notice's own numbers and link, and the references a
    regulator or channel gave (the only text a notice takes from a reason, `details.reference`,
    joined by "；"), so the scrub need not search the text for references."""
    references = tuple(notice.details.get("reference", "").split("；"))
    return (notice.ticket, notice.complaint_id, notice.order_no or "", notice.details.get("status_link", ""),
            *references)


def render_notice(*, notice: Notice, role: Role, language: Language, time_zone: str = SHANGHAI,
                  parts: frozenset[str] = PARTS) -> Rendered:
    """Render one notice for one reader; never raises, sets fallback and error instead. Only the
    `parts` asked for are rendered (an in-app notice has no HTML or SMS text); the others are empty."""
    name = f"{language}/{TEMPLATES.get(notice.event_type, 'generic')}.j2"
    problems: list[str] = []
    try:
        check_time_zone(time_zone)
    except ValueError as exc:
        # A bad stored preference must not cost the reader the message; Beijing time is always shown.
        problems.append(str(exc))
        time_zone = SHANGHAI
    fallback = False
    try:
        texts = _render(name, language, _context(notice, role, language, time_zone), parts)
    # Templates are data edited outside code review; any failure must degrade, not drop the message.
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{type(exc).__name__}: {exc}"[:300])
        texts, fallback = _plain(notice, language, time_zone), True
    keep = _kept(notice)
    masked = role in (Role.MERCHANT, Role.PARTNER)
    # Scrubbing is most of a render's cost: only the parts asked for (the others stay empty).
    subject, text, body_html, sms = (scrub(part, mask_contacts=masked, keep=keep, find_references=False)
                                     if kind in parts else ""
                                     for kind, part in zip(("subject", "text", "html", "sms"), texts, strict=True))
    error = scrub("; ".join(problems), mask_contacts=True, keep=keep) if problems else None
    return Rendered(subject, text, body_html, sms, template=name, fallback=fallback, error=error)


def render_sms(*, notice: Notice, role: Role, language: Language, time_zone: str = SHANGHAI) -> str:
    """Only the short (SMS) text of `render_notice` for one reader: what a webhook body's summaries
    carry. The same text, without rendering the subject, plain text and HTML it does not need."""
    name = f"{language}/{TEMPLATES.get(notice.event_type, 'generic')}.j2"
    try:
        check_time_zone(time_zone)
    except ValueError:
        time_zone = SHANGHAI
    try:
        context = _context(notice, role, language, time_zone)
        text_template = _TEXT.get_template(name)
        sms = " ".join(text_template.render(context, layout=f"{language}/layout.sms.j2").split())
    except Exception:  # noqa: BLE001  # as render_notice: a failed template degrades to the plain message
        sms = _plain(notice, language, time_zone)[3]
    return scrub(sms, mask_contacts=role in (Role.MERCHANT, Role.PARTNER), keep=_kept(notice), find_references=False)
