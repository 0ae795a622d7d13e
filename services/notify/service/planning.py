"""Who hears about an event and what they read: recipients, intents, rendered content."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.notify import repository
from services.notify.config import NotifySettings
from services.notify.domain.notice import Channel, Language, Notice, Role
from services.notify.domain.recipients import URGENT, Preferences, Recipient, plan_deliveries
from services.notify.domain.render import IN_APP_PARTS, Rendered, notice_for, render_notice
from services.notify.models import ComplaintRecipients, Notification, RecipientProfile
from services.notify.service.subscriptions import LiveEndpoints
from shared.contracts.notify import NotificationSent
from shared.envelope import utcnow
from shared.outbox import emit
from shared.store import UnitOfWork, row

if TYPE_CHECKING:
    from services.notify.service.handoff import Handoff

log = logging.getLogger(__name__)


def recipient_key(*, platform: str, role: str, recipient_id: str) -> str:
    """The directory key of a recipient: ids are unique per platform and role only."""
    return f"{platform}:{role}:{recipient_id}"


@dataclass(frozen=True)
class About:
    """What a batch of intents tells: the event (or reminder) and its rendering inputs."""

    event_id: str
    event_type: str
    complaint_id: str | None
    ticket: str
    platform: str
    notice: Notice
    payload: Callable[[str], str] | None = None
    roles: frozenset[Role] | None = None  # who hears it, when not the event type's usual readers
    public_type: str | None = None  # the partner-facing type it is told under (filters may name it)


def _preferences(profile: RecipientProfile | None, language: str = "zh-CN") -> Preferences:
    if profile is None:
        return Preferences(language=Language(language))
    channels = tuple(Channel(c) for c in profile.channels) if profile.channels is not None else None
    return Preferences(channels=channels, language=Language(profile.language), time_zone=profile.time_zone)


def people_keys(record: ComplaintRecipients) -> dict[Role, str]:
    """The directory keys of the complaint's people (those it names), by role."""
    people = {Role.COMPLAINANT: record.complainant_id, Role.MERCHANT: record.merchant_id,
              Role.AGENT: record.agent_id}
    return {role: recipient_key(platform=record.platform, role=role.value, recipient_id=rid)
            for role, rid in people.items() if rid}


def get_recipients(*, record: ComplaintRecipients, roles: set[Role], settings: NotifySettings,
                   endpoints: LiveEndpoints, tx: UnitOfWork | None = None) -> list[Recipient]:
    """The complaint's parties (and its platform's partner subscriptions) with their contacts.

    Profiles the transaction read ahead (see events.read_ahead) are not asked for again."""
    platform = record.platform
    keys = {role: key for role, key in people_keys(record).items() if role in roles}
    profiles = repository.list_profiles(tx, keys=list(keys.values()))
    found: list[Recipient] = []
    for role, key in keys.items():
        profile = profiles.get(key)
        email = profile.email if profile and profile.email else None
        phone = profile.phone if profile and profile.phone else None
        language = record.language if role is Role.COMPLAINANT else "zh-CN"
        if role is Role.COMPLAINANT:
            email, phone = email or record.complainant_email, phone or record.complainant_phone
        found.append(Recipient(id=key, role=role, email=email, phone=phone,
                               preferences=_preferences(profile, language)))
    if Role.PARTNER in roles:
        for endpoint in endpoints.of(platform, max_age_s=settings.subscriptions_max_age_s):
            found.append(Recipient(id=recipient_key(platform=platform, role="partner", recipient_id=endpoint.id),
                                   role=Role.PARTNER, webhook_url=endpoint.url, event_types=endpoint.event_types))
    return found


def channel_enabled(channel: Channel, settings: NotifySettings) -> bool:
    """Whether a channel is configured; no intent is recorded for one that is not."""
    return {Channel.EMAIL: bool(settings.smtp_host), Channel.SMS: bool(settings.sms_url)}.get(channel, True)


#: What each channel shows of a notice: only those parts are rendered (and scrubbed, most of the
#: cost). A webhook carries the partner event (`About.payload`) and renders no notice at all.
_CHANNEL_PARTS = {Channel.IN_APP: IN_APP_PARTS, Channel.EMAIL: frozenset({"subject", "text", "html"}),
                  Channel.SMS: frozenset({"subject", "text", "sms"})}


def create_notifications(*, about: About, recipients: list[Recipient], settings: NotifySettings,
                         now: datetime) -> list[dict[str, Any]]:
    """One rendered, not yet saved Notification per (recipient, channel) the event reaches, as its
    stored row (shared.store.rows: an event's notices are most of what notify writes)."""
    intents = [intent for intent in plan_deliveries(event_id=about.event_id, event_type=about.notice.event_type,
                                                    recipients=recipients, audience=about.roles,
                                                    public_type=about.public_type)
               if channel_enabled(intent.channel, settings)]
    chosen = {r.id for r in recipients if r.preferences.channels is not None}
    # SMS by default only when the reader must act by a deadline, or at once.
    intents = [intent for intent in intents if not (
        intent.channel is Channel.SMS and about.notice.deadline is None and intent.recipient_id not in chosen
        and about.event_type not in URGENT)]
    # One rendering per reader's (role, language, zone), of the parts its channels show. A reader
    # told in-app only is not rendered now: the notice keeps its facts, rendered as it is read
    # (service.inbox.shown; most notices of an event are in-app only, their rendering most of its
    # planning). One told by email or SMS too gets the same rendering stored, as that channel's.
    wanted: dict[tuple[Role, Language, str], frozenset[str]] = {}
    for intent in intents:
        if intent.channel is not Channel.WEBHOOK:
            look = (intent.role, intent.language, intent.time_zone)
            wanted[look] = wanted.get(look, frozenset()) | _CHANNEL_PARTS[intent.channel]
    renders: dict[tuple[Role, Language, str], Rendered] = {}
    for (role, language, time_zone), parts in wanted.items():
        if parts == IN_APP_PARTS:
            continue
        rendered = renders[(role, language, time_zone)] = render_notice(
            notice=about.notice, role=role, language=language, time_zone=time_zone, parts=parts)
        if rendered.fallback:
            # Never dropped: the plain message goes out and the delivery carries the flag.
            log.warning("template %s failed for %s, sent the plain message: %s",
                        rendered.template, about.event_type, rendered.error)
    facts: dict[Role, str] = {}
    made: list[dict[str, Any]] = []
    for intent in intents:
        platform, _role, raw_id = intent.recipient_id.split(":", 2)
        in_app = intent.channel is Channel.IN_APP
        webhook = intent.channel is Channel.WEBHOOK
        told = _untold(about) if webhook else renders.get((intent.role, intent.language, intent.time_zone))
        content: dict[str, Any]
        if told is None:  # told in-app only: its facts, rendered as it is read
            if intent.role not in facts:
                facts[intent.role] = notice_for(about.notice, intent.role).model_dump_json(exclude_defaults=True)
            content = {"notice": facts[intent.role], "time_zone": intent.time_zone}
        else:
            content = {"subject": told.subject, "body": told.text, "html": told.html or None,
                       "sms": told.sms or None, "template": told.template or None,
                       "payload": about.payload(told.sms) if about.payload and webhook else None,
                       "render_fallback": told.fallback, "render_error": told.error}
        made.append(row(
            Notification, id=intent.delivery_id, event_id=about.event_id, event_type=about.event_type,
            complaint_id=about.complaint_id, ticket=about.ticket, platform=platform,
            recipient_key=intent.recipient_id, recipient_id=raw_id, recipient_role=intent.role.value,
            channel=intent.channel.value, language=intent.language.value, address=intent.address,
            subscription_id=raw_id if webhook else None, **content,
            state="delivered" if in_app else "pending", attempts=0, next_attempt_at=now,
            lease_until=now - timedelta(seconds=1), created_at=now, delivered_at=now if in_app else None,
        ))
    return made


def _untold(about: About) -> Rendered:
    # A webhook delivery's content is its payload; its subject and body name what it tells (as a replay's do).
    kind = about.public_type or about.event_type
    return Rendered(subject=kind, text=kind, html="", sms="", template="")


def record_intents(tx: UnitOfWork, *, about: About, recipients: list, settings: NotifySettings,
                   now: datetime | None = None, handoff: Handoff | None = None) -> int:
    """Record every delivery intent (unique by key) before anything is sent; in-app ones are delivered
    here, webhook ones handed to this process's worker once recorded (with a `handoff`)."""
    now = now or utcnow()
    rows = create_notifications(about=about, recipients=recipients, settings=settings, now=now)
    if not rows:
        return 0
    if handoff is not None:
        handoff.lease_new(rows, now=now)
    created = repository.create_intents(tx, rows=rows)
    if handoff is not None:
        handoff.give_on_commit(tx, created)
    sent = [notification_sent(one) for one in created if one["state"] == "delivered" and one.get("complaint_id")]
    if sent:
        emit(tx, topic=settings.topics.notify_events, messages=sent, together=True)  # one outbox entry
    return len(created)


def notification_sent(doc: Notification | Mapping[str, Any]) -> NotificationSent:
    """The fact that one delivery (a document, or its stored row: no None fields) reached its recipient."""
    get = doc.get if isinstance(doc, Mapping) else functools.partial(getattr, doc)
    return NotificationSent(complaint_id=get("complaint_id"), ticket=get("ticket"), about_event_id=get("event_id"),
                            about_event_type=get("event_type"), recipient_role=get("recipient_role"),
                            channel=get("channel"))
