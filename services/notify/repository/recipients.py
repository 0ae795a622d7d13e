"""Stored recipients: each complaint's record, the events parked before it, and people's profiles."""

from __future__ import annotations

from datetime import datetime

from pymongo import DeleteMany, UpdateOne

from services.notify.models import ComplaintRecipients, ParkedEvent, RecipientProfile
from shared.store import UnitOfWork


def create_record(tx: UnitOfWork, *, record: ComplaintRecipients) -> bool:
    """Store a filed complaint's record; True when events were parked waiting for it."""
    record.validate()
    stored = record.to_mongo().to_dict()
    fields = {name: value for name, value in stored.items() if name != "_id"}
    # $set, not $setOnInsert: a placeholder left by parked events becomes the record (the ledger
    # already makes this run once per event). The old document says whether any event waits.
    before = tx.get(ComplaintRecipients, record.id)
    if before is None and tx.grouped and tx.atomic:
        # Nothing parked (as read ahead): a plain insert, cheaper in the store than an upsert. A
        # record written meanwhile fails the group's insert, and the group is applied one by one.
        tx.add([stored], document=ComplaintRecipients)  # encoded once, above
        return False
    tx.write(ComplaintRecipients, [UpdateOne({"_id": record.id}, {"$set": fields, "$unset": {"parked": ""}},
                                             upsert=True)])
    return before is not None and bool(before.get("parked"))


def get_known_record(tx: UnitOfWork, *, complaint_id: str) -> ComplaintRecipients | None:
    """The complaint's record (as read ahead, else now); None while its ComplaintFiled is on the way."""
    doc = tx.get(ComplaintRecipients, complaint_id)
    if doc is None or "ticket" not in doc:  # a placeholder only counts the events parked for it
        return None
    return ComplaintRecipients._from_son(doc)


def get_record(*, complaint_id: str) -> ComplaintRecipients | None:
    """The complaint's record as stored now, outside any transaction."""
    return ComplaintRecipients.objects(id=complaint_id).first()


def update_agent(tx: UnitOfWork, *, complaint_id: str, agent_id: str) -> None:
    """Note the agent assigned to the complaint."""
    tx.write(ComplaintRecipients, [UpdateOne({"_id": complaint_id}, {"$set": {"agent_id": agent_id}})])


def create_parked(tx: UnitOfWork, *, event_id: str, complaint_id: str, payload: str, parked_at: datetime) -> None:
    """Park an event whose complaint is not known yet, and mark the complaint's (placeholder) record."""
    # Marking the record's document makes this transaction and that of ComplaintFiled write the
    # same document, so the store lets only one of two concurrent ones commit and retries the
    # other: an event is never parked once its complaint is known, and a known complaint has
    # nothing waiting to go before its next event.
    tx.add([ParkedEvent(id=event_id, complaint_id=complaint_id, payload=payload, parked_at=parked_at)])
    tx.write(ComplaintRecipients, [UpdateOne({"_id": complaint_id}, {"$inc": {"parked": 1}}, upsert=True)])


def list_parked(tx: UnitOfWork, *, complaint_id: str) -> list[ParkedEvent]:
    """The events parked for a complaint (as read ahead, else now), in no particular order."""
    ahead = (ParkedEvent, complaint_id)
    docs = tx.read_ahead[ahead] if ahead in tx.read_ahead else \
        tx.collection(ParkedEvent).find({"complaint_id": complaint_id}, session=tx.session)
    return [ParkedEvent._from_son(doc) for doc in docs]


def delete_parked(tx: UnitOfWork, *, ids: list[str]) -> None:
    """Drop parked events once planned."""
    tx.write(ParkedEvent, [DeleteMany({"_id": {"$in": ids}})])


def list_parked_records(*, parked_before: datetime) -> list[ComplaintRecipients]:
    """Known complaints with events parked before the given time."""
    ids = ParkedEvent.objects(parked_at__lte=parked_before).distinct("complaint_id")
    # Placeholders (no ticket) are complaints still unknown: their events keep waiting.
    return list(ComplaintRecipients.objects(id__in=ids, ticket__exists=True))


def read_ahead_records(tx: UnitOfWork, *, ids: list[str]) -> tuple[dict[str, ComplaintRecipients], set[str]]:
    """Read the records of these complaints in one query for the unit; the known ones by id, and
    the ids of those with events parked for them."""
    found = tx.read_ahead_ids(ComplaintRecipients, ids)
    known = {complaint_id: ComplaintRecipients._from_son(doc) for complaint_id, doc in found.items()
             if "ticket" in doc}
    return known, {complaint_id for complaint_id, doc in found.items() if doc.get("parked")}


def read_ahead_parked(tx: UnitOfWork, *, complaint_ids: list[str]) -> None:
    """Read the events parked for these complaints in one query for the unit."""
    for complaint_id in complaint_ids:
        tx.read_ahead[(ParkedEvent, complaint_id)] = []
    if complaint_ids:
        for doc in tx.collection(ParkedEvent).find({"complaint_id": {"$in": complaint_ids}}, session=tx.session):
            tx.read_ahead[(ParkedEvent, doc["complaint_id"])].append(doc)


def read_ahead_profiles(tx: UnitOfWork, *, keys: list[str]) -> None:
    """Read these people's profiles in one query for the unit (None for one that has none)."""
    profiles = {p.id: p for p in RecipientProfile.objects(id__in=keys)} if keys else {}
    for key in keys:
        tx.read_ahead[(RecipientProfile, key)] = profiles.get(key)


def list_profiles(tx: UnitOfWork | None, *, keys: list[str]) -> dict[str, RecipientProfile]:
    """The profiles of these keys by key (absent or None: none); those the unit read ahead are not asked again."""
    ahead = tx.read_ahead if tx is not None else {}
    profiles = {key: ahead[(RecipientProfile, key)] for key in keys if (RecipientProfile, key) in ahead}
    missing = [key for key in keys if key not in profiles]
    # A partner-only audience names no person: nothing to look up.
    if missing:
        profiles.update({p.id: p for p in RecipientProfile.objects(id__in=missing)})
    return profiles


def get_profile(*, key: str) -> RecipientProfile | None:
    """One person's profile by directory key."""
    return RecipientProfile.objects(id=key).first()


def update_profile(*, profile: RecipientProfile) -> None:
    """Store a person's profile, replacing the one before."""
    profile.save()
