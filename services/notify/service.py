"""Notify's logic: each event once — recipients kept, intents recorded before any send, status published."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from pymongo import DeleteMany, UpdateOne

from services.notify import reminders
from services.notify.config import NotifySettings
from services.notify.domain.notice import Role
from services.notify.domain.recipients import AUDIENCE, DEFAULT_AUDIENCE
from services.notify.domain.status_event import EVENT_TYPE, build_status_event, to_kafka_message
from services.notify.models import ComplaintRecipients, Notification, ParkedEvent, RecipientProfile
from services.notify.notices import create_notice, status_change, webhook_payload
from services.notify.planning import About, get_recipients, people_keys, record_intents
from shared.contracts.complaints import ComplaintFiled
from shared.contracts.escalation import CaseAssigned, ComplaintStatusChanged
from shared.envelope import Event, Message, decode, utcnow
from shared.ledger import apply_once
from shared.outbox import emit_raw
from shared.store import UnitOfWork

log = logging.getLogger(__name__)
#: States whose change is not told to people (the filing acknowledgement already said it).
QUIET_STATES = frozenset({"acknowledged"})


def handle_event(uow: UnitOfWork, *, event: Event, settings: NotifySettings) -> int:
    """Apply one event once; returns how many deliveries it recorded (AlreadyProcessed on a repeat)."""
    return apply_once(uow, consumer=settings.service_name, event=event,
                      work=lambda tx: _apply(tx, event=event, settings=settings))


def _apply(tx: UnitOfWork, *, event: Event, settings: NotifySettings) -> int:
    if isinstance(event, ComplaintStatusChanged):
        publish_status(tx, event=event, settings=settings)
    if isinstance(event, ComplaintFiled):
        record = _record_of(event)
        fields = record.to_mongo().to_dict()
        del fields["_id"]
        # $set, not $setOnInsert: a placeholder left by parked events becomes the record (the ledger
        # already makes this run once per event). The old document says whether any event waits.
        before = tx.get(ComplaintRecipients, record.id)
        tx.write(ComplaintRecipients, [UpdateOne({"_id": record.id}, {"$set": fields, "$unset": {"parked": ""}},
                                                 upsert=True)])
        count = _apply_known(tx, event=event, record=record, settings=settings)
        if before is not None and before.get("parked"):
            count += replay_parked(tx, record=record, settings=settings)
        return count
    doc = tx.get(ComplaintRecipients, event.complaint_id)
    if doc is None or "ticket" not in doc:
        # Its ComplaintFiled is still on the way (another topic): plan it once that arrives. Marking
        # the record's document makes this transaction and that of ComplaintFiled write the same
        # document, so the store lets only one of two concurrent ones commit and retries the other:
        # an event is never parked once its complaint is known, and a known complaint has nothing
        # waiting to go before its next event.
        tx.add([ParkedEvent(id=event.event_id, complaint_id=event.complaint_id,
                              payload=event.model_dump_json(), parked_at=utcnow())])
        tx.write(ComplaintRecipients, [UpdateOne({"_id": event.complaint_id}, {"$inc": {"parked": 1}}, upsert=True)])
        return 0
    return _apply_known(tx, event=event, record=ComplaintRecipients._from_son(doc), settings=settings)


def read_ahead(events: list[Message], uow: UnitOfWork) -> None:
    """Read, for a consumer's group, the recipient records, waiting events and people's
    profiles its events will each need: a query each for the group, not each per event (see UnitOfWork.read_ahead).

    A group holds one event per complaint at most, so nothing in it changes a record another of
    its events reads after it."""
    tx = uow
    # A filing brings its record with it (what is read of it says whether events wait for it).
    keys = [key for e in events if isinstance(e, ComplaintFiled) for key in people_keys(_record_of(e)).values()]
    ids = [e.complaint_id for e in events if isinstance(e, Event)]
    filed = {e.complaint_id for e in events if isinstance(e, ComplaintFiled)}
    found = tx.read_ahead_ids(ComplaintRecipients, ids)
    for complaint_id, doc in found.items():
        if "ticket" in doc and complaint_id not in filed:
            keys += people_keys(ComplaintRecipients._from_son(doc)).values()
    # The events parked for filed complaints, to go out now: one query for all of them.
    waiting = [i for i in filed if (found.get(i) or {}).get("parked")]
    for complaint_id in waiting:
        tx.read_ahead[(ParkedEvent, complaint_id)] = []
    if waiting:
        for doc in tx.collection(ParkedEvent).find({"complaint_id": {"$in": waiting}}, session=tx.session):
            tx.read_ahead[(ParkedEvent, doc["complaint_id"])].append(doc)
    profiles = {p.id: p for p in RecipientProfile.objects(id__in=keys)} if keys else {}
    for key in keys:
        tx.read_ahead[(RecipientProfile, key)] = profiles.get(key)


def _record_of(event: ComplaintFiled) -> ComplaintRecipients:
    c = event.complainant
    return ComplaintRecipients(id=event.complaint_id, ticket=event.ticket, platform=event.platform,
                               complainant_id=c.id, complainant_email=c.email, complainant_phone=c.phone,
                               language=c.language, merchant_id=event.merchant.id,
                               order_no=event.order.order_number, created_at=utcnow())


def _apply_known(tx: UnitOfWork, *, event: Event, record: ComplaintRecipients, settings: NotifySettings) -> int:
    if isinstance(event, CaseAssigned):
        tx.write(ComplaintRecipients, [UpdateOne({"_id": record.id}, {"$set": {"agent_id": event.agent_id}})])
        record.agent_id = event.agent_id
        return 0
    evidence_due = reminders.on_event(tx, event=event, record=record, settings=settings)
    notice = create_notice(event=event, order_no=record.order_no, evidence_due=evidence_due)
    about = About(event_id=event.event_id, event_type=event.type, complaint_id=event.complaint_id,
                  ticket=event.ticket, platform=record.platform, notice=notice,
                  payload=lambda summary: webhook_payload(event=event, summary=summary))
    roles = set(AUDIENCE.get(event.type, DEFAULT_AUDIENCE))
    if isinstance(event, ComplaintStatusChanged) and event.to_state in QUIET_STATES:
        roles &= {Role.PARTNER}  # people already got the acknowledgement of ComplaintFiled
    return record_intents(tx, about=about, recipients=get_recipients(record=record, roles=roles, settings=settings,
                                                                     tx=tx), settings=settings)


def replay_parked(tx: UnitOfWork, *, record: ComplaintRecipients, settings: NotifySettings) -> int:
    """Plan the events that arrived before their complaint's ComplaintFiled."""
    ahead = (ParkedEvent, record.id)
    docs = sorted(tx.read_ahead[ahead] if ahead in tx.read_ahead else
                  tx.collection(ParkedEvent).find({"complaint_id": record.id}, session=tx.session),
                  key=lambda doc: doc["parked_at"])
    count = 0
    # Assignments first: parked_at has millisecond precision, and the agent must be known before the rest.
    docs.sort(key=lambda d: '"type":"CaseAssigned"' not in d["payload"])
    for doc in docs:
        event = decode(doc["payload"].encode())
        count += _apply_known(tx, event=event, record=record, settings=settings)  # type: ignore[arg-type]
    if docs:
        tx.write(ParkedEvent, [DeleteMany({"_id": {"$in": [doc["_id"] for doc in docs]}})])
    return count


def sweep_parked(uow: UnitOfWork, *, settings: NotifySettings, older_than: timedelta = timedelta(seconds=2)) -> int:
    """Replay parked events whose complaint is known (ones parked before parking marked the record)."""
    count = 0
    ids = ParkedEvent.objects(parked_at__lte=utcnow() - older_than).distinct("complaint_id")
    # Placeholders (no ticket) are complaints still unknown: their events keep waiting.
    for record in ComplaintRecipients.objects(id__in=ids, ticket__exists=True):
        count += uow.transaction(lambda tx, r=record: replay_parked(tx, record=r, settings=settings))
    return count


def publish_status(tx: UnitOfWork, *, event: ComplaintStatusChanged, settings: NotifySettings) -> None:
    """Write the partner-facing CloudEvent to the outbox, keyed by complaint id, in this transaction."""
    try:
        change = status_change(event=event)
    except ValidationError as exc:
        # A state or ticket outside the published schema must not reach partners; people are still told.
        log.error("status change %s not published: outside schema v1: %s", event.event_id, exc)
        return
    cloud_event = build_status_event(change=change)
    message = to_kafka_message(event=cloud_event)
    headers = {name: value.decode() if isinstance(value, bytes) else str(value)
               for name, value in message.headers.items()}
    emit_raw(tx, topic=settings.topics.public_status, entry_id=f"ce-{cloud_event.get_id()}",
             key=event.complaint_id, payload=message.value.decode("utf-8"), message_type=EVENT_TYPE,
             kafka_headers=headers or {"content-type": "application/cloudevents+json; charset=utf-8"})


def list_inbox(*, role: Role, recipient_id: str, platform: str | None, unread_only: bool = False,
               limit: int = 50) -> list[Notification]:
    """A reader's in-app notifications, newest first."""
    query: dict[str, Any] = {"recipient_role": role.value, "recipient_id": recipient_id, "channel": "in_app"}
    if platform:
        query["platform"] = platform
    if unread_only:
        query["read_at"] = None
    return list(Notification.objects(**query).order_by("-created_at").limit(limit))


def mark_read(*, notification_id: str, role: Role, recipient_id: str, platform: str | None) -> Notification | None:
    """Mark one of the reader's notifications read (idempotent); None when it is not theirs."""
    query: dict[str, Any] = {"id": notification_id, "recipient_role": role.value,
                             "recipient_id": recipient_id, "channel": "in_app"}
    if platform:
        query["platform"] = platform
    Notification.objects(read_at=None, **query).update_one(set__read_at=utcnow())
    return Notification.objects(**query).first()


