"""Each event once: recipients kept, intents recorded before any send, the status published to partners."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from services.notify import repository
from services.notify.config import NotifySettings
from services.notify.domain.labels import COMPLAINANT_CLOCKS
from services.notify.domain.notice import Notice, Role
from services.notify.domain.recipients import audience_of
from services.notify.domain.status_event import (
    EVENT_TYPE,
    FREEZE_EVENT_TYPE,
    FreezeRequest,
    StatusChange,
    freeze_cloud_event,
    public_reason_code,
    status_cloud_event,
)
from services.notify.models import ComplaintRecipients
from services.notify.service import events_log, reminders
from services.notify.service.handoff import REPEATS_AHEAD, Handoff
from services.notify.service.notices import (
    create_notice,
    filing_change,
    partner_type,
    status_change,
    status_link,
    webhook_body,
)
from services.notify.service.planning import About, get_recipients, people_keys, record_intents
from services.notify.service.subscriptions import LiveEndpoints
from shared.contracts import public
from shared.contracts.complaints import AccountFreezeRequested, ComplaintFiled
from shared.contracts.escalation import CaseAssigned, ComplaintStatusChanged, SlaBreached, SlaWarning
from shared.envelope import Event, Message, decode, utcnow
from shared.ledger import apply_once, read_applied
from shared.outbox import emit_raw
from shared.store import UnitOfWork

log = logging.getLogger(__name__)
#: States whose change is not told to people (the filing acknowledgement already said it).
QUIET_STATES = frozenset({"acknowledged"})


def handle_event(uow: UnitOfWork, *, event: Event, settings: NotifySettings, endpoints: LiveEndpoints,
                 handoff: Handoff | None = None) -> int:
    """Apply one event once; returns how many deliveries it recorded (AlreadyProcessed on a repeat).
    With a `handoff`, the webhook deliveries it records go to this process's worker on commit."""
    return apply_once(uow, consumer=settings.service_name, event=event,
                      work=lambda tx: _apply(tx, event=event, settings=settings, endpoints=endpoints,
                                             handoff=handoff))


def _apply(tx: UnitOfWork, *, event: Event, settings: NotifySettings, endpoints: LiveEndpoints,
           handoff: Handoff | None) -> int:
    if isinstance(event, ComplaintFiled):
        record = _record_of(event, tx)
        waiting = repository.create_record(tx, record=record)
        count = _apply_known(tx, event=event, record=record, settings=settings, endpoints=endpoints, handoff=handoff)
        if waiting:
            count += replay_parked(tx, record=record, settings=settings, endpoints=endpoints, handoff=handoff)
        return count
    known = repository.get_known_record(tx, complaint_id=event.complaint_id)
    if known is None:
        # Its ComplaintFiled is still on the way (another topic): plan it once that arrives.
        repository.create_parked(tx, event_id=event.event_id, complaint_id=event.complaint_id,
                                 payload=event.model_dump_json(), parked_at=utcnow())
        return 0
    return _apply_known(tx, event=event, record=known, settings=settings, endpoints=endpoints, handoff=handoff)


def read_ahead(events: list[Message], uow: UnitOfWork, *, consumer: str) -> None:
    """Read, for a consumer's group, the recipient records, waiting events and people's
    profiles its events will each need: a query each for the group, not each per event (see UnitOfWork.read_ahead);
    and whether any of them was applied before (its webhooks then wait for the commit: service/early.py).

    A group holds one event per complaint at most, so nothing in it changes a record another of
    its events reads after it."""
    # A filing brings its record with it (what is read of it says whether events wait for it).
    keys = [key for e in events if isinstance(e, ComplaintFiled) for key in people_keys(_record_of(e, uow)).values()]
    ids = [e.complaint_id for e in events if isinstance(e, Event)]
    filed = {e.complaint_id for e in events if isinstance(e, ComplaintFiled)}
    known, parked = repository.read_ahead_records(uow, ids=ids)
    for complaint_id, record in known.items():
        if complaint_id not in filed:
            keys += people_keys(record).values()
    # The events parked for filed complaints, to go out now: one query for all of them.
    repository.read_ahead_parked(uow, complaint_ids=[i for i in filed if i in parked])
    repository.read_ahead_profiles(uow, keys=keys)
    if read_applied(uow, consumer=consumer, event_ids=[e.event_id for e in events if isinstance(e, Event)]):
        uow.read_ahead[REPEATS_AHEAD] = True


def _record_of(event: ComplaintFiled, unit: UnitOfWork) -> ComplaintRecipients:
    """The recipients record a filing brings, built once for the unit (its read-ahead and its handler
    both need it; a document object is a fortieth of a filing's planning)."""
    ahead = ("filing record", event.event_id)
    record = unit.read_ahead.get(ahead)
    if record is None:
        c = event.complainant
        record = unit.read_ahead[ahead] = ComplaintRecipients(
            id=event.complaint_id, ticket=event.ticket, platform=event.platform, complainant_id=c.id,
            complainant_email=c.email, complainant_phone=c.phone, language=c.language,
            merchant_id=event.merchant.id, order_no=event.order.order_number, created_at=utcnow())
    return record


def _apply_known(tx: UnitOfWork, *, event: Event, record: ComplaintRecipients, settings: NotifySettings,
                 endpoints: LiveEndpoints, handoff: Handoff | None = None) -> int:
    # The public status record: the filing first, then each change that changes the state. A change
    # that came before its filing was parked, so it is published after the filing.
    if isinstance(event, ComplaintFiled):
        publish_change(tx, change=filing_change(event=event), settings=settings)
    if isinstance(event, ComplaintStatusChanged) and event.from_state != event.to_state:
        publish_status(tx, event=event, settings=settings)
    if isinstance(event, CaseAssigned):
        repository.update_agent(tx, complaint_id=record.id, agent_id=event.agent_id)
        record.agent_id = event.agent_id
    evidence_due = None if isinstance(event, CaseAssigned) else reminders.on_event(tx, event=event, record=record,
                                                                                   settings=settings)
    notice = create_notice(event=event, order_no=record.order_no, evidence_due=evidence_due)
    if isinstance(event, ComplaintFiled) and settings.console_url:
        notice = notice.model_copy(update={"details": {**notice.details, "status_link": status_link(event, settings)}})
    told = (event.audience, notice.owner or "") if isinstance(event, SlaWarning | SlaBreached) else ((), "")
    roles = set(audience_of(event_type=event.type, audience=told[0], owner=told[1] or _owner_of(notice)))
    if isinstance(event, ComplaintStatusChanged) and event.to_state in QUIET_STATES:
        roles &= {Role.PARTNER}  # people already got the acknowledgement of ComplaintFiled
    told_as = partner_type(event)
    if told_as is None:
        roles.discard(Role.PARTNER)  # nothing changed, nothing asked, or not the platform's clock
    elif isinstance(event, SlaWarning | SlaBreached):
        # The policy's audience names people; a platform's integration hears of its own clocks and the
        # merchants' (its subscription's filter chooses), never of the buyer's private windows.
        roles.add(Role.PARTNER)
    if not roles:
        return 0
    about = About(event_id=_intent_key(event), event_type=event.type, complaint_id=event.complaint_id,
                  ticket=event.ticket, platform=record.platform, notice=notice,
                  payload=_once(lambda: webhook_body(event=event, notice=notice, order_no=record.order_no)),
                  roles=frozenset(roles), public_type=told_as)
    if Role.PARTNER in roles:
        # The partner events list (GET /v1/events) and replays.
        events_log.record(tx, about=about, own_key=about.event_id == event.event_id)
    recipients = get_recipients(record=record, roles=roles, settings=settings, endpoints=endpoints, tx=tx)
    count = record_intents(tx, about=about, recipients=recipients, settings=settings, handoff=handoff)
    if isinstance(event, AccountFreezeRequested) and count:
        # The buyer's in-app notice is new only for the complaint's first freeze request: publish once.
        publish_freeze(tx, event=event, order_no=record.order_no, settings=settings)
    return count


def _once(make: Callable[[], str]) -> Callable[[str], str]:
    """An event's webhook body, built at its first use: the events list and each subscription's
    delivery carry the same body (rendering its two summaries is most of planning's work)."""
    made: list[str] = []

    def body(_summary: str) -> str:
        if not made:
            made.append(make())
        return made[0]

    return body


def _intent_key(event: Event) -> str:
    """What deliveries are keyed by: the event, except a freeze request, which intake and escalation
    both publish (two event ids): one freeze request per complaint is told once."""
    if isinstance(event, AccountFreezeRequested):
        return f"freeze:{event.complaint_id}"
    return event.event_id


def _owner_of(notice: Notice) -> str:
    # Old SLA events name no owner: the policy's buyer clocks are the buyer's.
    return "complainant" if notice.clock in COMPLAINANT_CLOCKS else ""


def replay_parked(tx: UnitOfWork, *, record: ComplaintRecipients, settings: NotifySettings,
                  endpoints: LiveEndpoints, handoff: Handoff | None = None) -> int:
    """Plan the events that arrived before their complaint's ComplaintFiled."""
    parked = sorted(repository.list_parked(tx, complaint_id=record.id), key=lambda p: p.parked_at)
    count = 0
    # Assignments first: parked_at has millisecond precision, and the agent must be known before the rest.
    parked.sort(key=lambda p: '"type":"CaseAssigned"' not in p.payload)
    for one in parked:
        event = decode(one.payload.encode())
        count += _apply_known(tx, event=event, record=record, settings=settings,  # type: ignore[arg-type]
                              endpoints=endpoints, handoff=handoff)
    if parked:
        repository.delete_parked(tx, ids=[one.id for one in parked])
    return count


def sweep_parked(uow: UnitOfWork, *, settings: NotifySettings, endpoints: LiveEndpoints,
                 older_than: timedelta = timedelta(seconds=2)) -> int:
    """Replay parked events whose complaint is known (ones parked before parking marked the record)."""
    count = 0
    for record in repository.list_parked_records(parked_before=utcnow() - older_than):
        count += uow.transaction(functools.partial(replay_parked, record=record, settings=settings,
                                                   endpoints=endpoints))
    return count


def publish_freeze(tx: UnitOfWork, *, event: AccountFreezeRequested, order_no: str | None,
                   settings: NotifySettings) -> None:
    """The partner-facing freeze request on the public status topic, keyed by complaint, in this transaction."""
    try:
        request = FreezeRequest(complaint_id=event.complaint_id, ticket=event.ticket, freeze=event.freeze,
                                order_number=event.order_number or order_no,
                                payment_channel=event.payment_channel or None,
                                transaction_id=event.transaction_id, occurred_at=event.occurred_at,
                                reason_code=public_reason_code(reason=event.reason))
    except ValidationError as exc:
        log.error("freeze request %s not published: outside schema v1: %s", event.event_id, exc)
        return
    _emit_cloud_event(tx, cloud_event=freeze_cloud_event(request=request), key=event.complaint_id,
                      message_type=FREEZE_EVENT_TYPE, settings=settings)


def publish_status(tx: UnitOfWork, *, event: ComplaintStatusChanged, settings: NotifySettings) -> None:
    """Write the partner-facing status CloudEvent to the outbox, keyed by complaint id, in this transaction."""
    try:
        change = status_change(event=event)
    except ValidationError as exc:
        # A state or ticket outside the published schema must not reach partners; people are still told.
        log.error("status change %s not published: outside schema v1: %s", event.event_id, exc)
        return
    publish_change(tx, change=change, settings=settings)


def publish_change(tx: UnitOfWork, *, change: StatusChange, settings: NotifySettings) -> None:
    """One status record on the public topic (a filing's is the complaint's first)."""
    _emit_cloud_event(tx, cloud_event=status_cloud_event(change=change), key=change.complaint_id,
                      message_type=EVENT_TYPE, settings=settings)


def _emit_cloud_event(tx: UnitOfWork, *, cloud_event: dict[str, Any], key: str, message_type: str,
                      settings: NotifySettings) -> None:
    # Structured mode: the value is the whole event; the only header is its content-type (the relay
    # adds no trace or message-type headers to an entry with CloudEvents headers: shared/bus/broker.py).
    emit_raw(tx, topic=settings.topics.public_status, entry_id=f"ce-{cloud_event['id']}", key=key,
             payload=public.to_json(cloud_event), message_type=message_type, kafka_headers=dict(public.KAFKA_HEADERS))
