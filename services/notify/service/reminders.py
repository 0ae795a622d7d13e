"""Durable reminders: missing evidence nudges and the daily breach digest, as documents with due times."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.notify import repository
from services.notify.config import NotifySettings
from services.notify.domain.notice import SHANGHAI, Notice, Role
from services.notify.models import ComplaintRecipients, Reminder
from services.notify.service.planning import About, get_recipients, record_intents
from services.notify.service.subscriptions import LiveEndpoints
from shared.contracts.complaints import ComplaintWithdrawn
from shared.contracts.escalation import SlaBreached
from shared.contracts.evidence import EvidenceAssessed
from shared.envelope import Event, utcnow
from shared.store import UnitOfWork

log = logging.getLogger(__name__)


def next_digest_at(*, now: datetime, time_of_day: str) -> datetime:
    """The next daily digest moment (HH:MM Beijing time) strictly after now, in UTC."""
    hour, minute = (int(part) for part in time_of_day.split(":"))
    local = now.astimezone(ZoneInfo(SHANGHAI))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    return due.astimezone(now.tzinfo)


def on_event(tx: UnitOfWork, *, event: Event, record: ComplaintRecipients, settings: NotifySettings) -> datetime | None:
    """Schedule or cancel what an event implies; returns the evidence deadline it set, if any."""
    evidence_id = f"evidence:{record.id}"
    if isinstance(event, EvidenceAssessed):
        due = event.occurred_at + timedelta(seconds=settings.evidence_reminder_after_s)
        # Only a later assessment decides: an older one delivered late changes nothing.
        if not repository.has_later_basis(tx, reminder_id=evidence_id, basis_at=event.occurred_at):
            state = "pending" if event.missing else "cancelled"
            repository.replace_reminder(tx, reminder_id=evidence_id, fields={
                "kind": "evidence_missing", "complaint_id": record.id, "platform": record.platform,
                "missing": list(event.missing), "state": state, "due_at": due, "basis_at": event.occurred_at,
                "tickets": [record.ticket]})
        return due if event.missing else None
    if isinstance(event, ComplaintWithdrawn):
        repository.update_cancelled(tx, reminder_id=evidence_id)
    if isinstance(event, SlaBreached):
        if not record.agent_id:
            log.info("breach of %s has no assigned agent yet; not in any digest", record.ticket)
            return None
        due = next_digest_at(now=utcnow(), time_of_day=settings.digest_time_shanghai)
        digest_id = f"digest:{record.platform}:{record.agent_id}:{due:%Y%m%dT%H%M}"
        repository.update_digest(tx, digest_id=digest_id, platform=record.platform, agent_id=record.agent_id,
                                 due_at=due, ticket=record.ticket)
    return None


def _about(reminder: Reminder, now: datetime, settings: NotifySettings) -> About:
    ticket = "、".join(reminder.tickets[:20]) or "-"
    if reminder.kind == "evidence_missing":
        # A fresh period to act in, counted from the reminder.
        deadline = reminder.due_at + timedelta(seconds=settings.evidence_reminder_after_s)
        notice = Notice(event_id=reminder.id, event_type="EvidenceAssessed", complaint_id=reminder.complaint_id,
                        ticket=ticket, occurred_at=now, missing_evidence=tuple(reminder.missing),
                        deadline=deadline)
        return About(event_id=f"{reminder.id}@{reminder.due_at:%Y%m%dT%H%M%S}", event_type="EvidenceReminder",
                     complaint_id=reminder.complaint_id, ticket=ticket, platform=reminder.platform, notice=notice)
    notice = Notice(event_id=reminder.id, event_type="SlaBreached", complaint_id="digest", ticket=ticket,
                    occurred_at=now, details={"breached": str(len(reminder.tickets))})
    return About(event_id=reminder.id, event_type="SlaBreachDigest", complaint_id=None, ticket=ticket,
                 platform=reminder.platform, notice=notice)


def fire_due(uow: UnitOfWork, *, settings: NotifySettings, endpoints: LiveEndpoints,
             now: datetime | None = None) -> int:
    """Turn every due reminder into delivery intents, each exactly once; returns how many fired."""
    now = now or utcnow()
    fired = 0
    lease = timedelta(seconds=settings.delivery_lease_s)
    while (reminder := repository.claim_reminder(now=now, lease=lease)) is not None:
        if reminder.kind == "evidence_missing":
            record = repository.get_record(complaint_id=reminder.complaint_id)
            roles = {Role.COMPLAINANT}
        else:
            record = ComplaintRecipients(id="digest", ticket="-", platform=reminder.platform, complainant_id="",
                                         merchant_id="", agent_id=reminder.agent_id, language="zh-CN")
            roles = {Role.AGENT}
        recipients = get_recipients(record=record, roles=roles, settings=settings,
                                    endpoints=endpoints) if record else []
        about = _about(reminder, now, settings)

        def work(tx: UnitOfWork, r: Reminder = reminder, about: About = about, recipients: list = recipients) -> None:
            if repository.update_done(tx, reminder_id=r.id, at=now):
                record_intents(tx, about=about, recipients=recipients, settings=settings, now=now)

        uow.transaction(work)
        fired += 1
    return fired
