"""Cases in the store: read one, create, update under a version check, and the merchant's record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pymongo import UpdateOne

from services.escalation.domain.queue import next_due_at
from services.escalation.domain.routing import MerchantHistory
from services.escalation.domain.states import ACTIVE
from services.escalation.domain.terms import current_category
from services.escalation.models import Case, ParkedFact
from shared.store import UnitOfWork, database
from shared.store.by_ids import find_by_ids


class CaseChanged(RuntimeError):
    """The case changed under a transaction (a version check failed); the work is retried."""


def get_case(uow: UnitOfWork, *, complaint_id: str | None = None, ticket: str | None = None) -> dict[str, Any] | None:
    """The stored case of a complaint id (or else of a ticket), read in the unit; None when there is none.

    A case the unit read ahead (read_ahead_cases) is answered from there once: a later read in the
    unit goes to the store and sees what the unit wrote since."""
    ahead = (Case, complaint_id)
    if complaint_id is not None and ahead in uow.read_ahead:
        return uow.read_ahead.pop(ahead)
    query = {"_id": complaint_id} if complaint_id is not None else {"ticket": ticket}
    doc = uow.collection(Case).find_one(query, session=uow.session)
    if doc is not None:
        # Cases stored before escalation took the shared spelling carry "invalid_card_key" and the like.
        doc["category"] = current_category(doc["category"])
    return doc


def get_cases(uow: UnitOfWork, *, complaint_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored cases of these complaint ids, read in the unit together (by_ids), by id."""
    found = {}
    for doc in find_by_ids(uow.collection(Case), complaint_ids, session=uow.session):
        doc["category"] = current_category(doc["category"])
        found[doc["_id"]] = doc
    return found


def read_ahead_cases(uow: UnitOfWork, *, complaint_ids: list[str]) -> None:
    """Read the cases of these complaint ids in one query by id, in the unit's transaction, for
    get_case to answer each once (None where the case has not opened yet)."""
    for doc in uow.read_ahead_ids(Case, list(dict.fromkeys(complaint_ids))).values():
        doc["category"] = current_category(doc["category"])


def create_case(tx: UnitOfWork, *, case: Case) -> None:
    """Insert a new case (nothing reads it back in its transaction)."""
    case.next_due_at = next_due_at(case.clocks)
    tx.add([case])  # in a consumer's shared transaction: one insert for the poll's cases


def create_case_now(tx: UnitOfWork, *, case: Case) -> None:
    """Insert a new case at once, for its transaction to read it back."""
    case.next_due_at = next_due_at(case.clocks)
    tx.collection(Case).insert_one(case.to_mongo().to_dict(), session=tx.session)


def update_case(tx: UnitOfWork, *, doc: Mapping[str, Any], fields: Mapping[str, Any],
                history: Mapping[str, Any] | None = None) -> None:
    """Update the case if nobody changed it since it was read; raises CaseChanged otherwise
    (inside `updates_together`, when the block ends)."""
    fields = dict(fields)
    if "clocks" in fields:  # the queue's sort key follows the clocks
        fields["next_due_at"] = next_due_at(fields["clocks"])
    update: dict[str, Any] = {"$set": fields, "$inc": {"version": 1}}
    if history is not None:
        update["$push"] = {"history": dict(history)}
    queued = tx.held(Case)
    if queued is not None:
        # By id alone: the case was read in this transaction, so a writer that changed it since
        # makes the store fail the transaction (a write conflict) just as the version would; and a
        # filter of more than the id costs the embedded store an index search per statement.
        queued.append(UpdateOne({"_id": doc["_id"]}, update))
        return
    done = tx.collection(Case).update_one({"_id": doc["_id"], "version": doc["version"]}, update,
                                          session=tx.session)
    if done.matched_count != 1:
        raise CaseChanged(doc["ticket"])


@contextmanager
def updates_together(tx: UnitOfWork) -> Iterator[None]:
    """Within the block, update_case of distinct cases read in this transaction that nothing reads
    back (a group of timer fires) go out at its end as one request.

    The store charges a fixed cost per request and per statement on top of each document's
    index entries: one bulk write of a group's cases costs it about a quarter less than one
    update each. A case changed since it was read fails the transaction (a write conflict)."""
    with tx.holding(Case) as queued:
        yield
        if queued:
            done = tx.collection(Case).bulk_write(queued, ordered=True, session=tx.session)
            if done.matched_count != len(queued):
                raise CaseChanged(f"{len(queued) - done.matched_count} of {len(queued)} cases changed meanwhile")


#: The kinds of fact that may wait for a case: a parked fact's id is `complaint_id:kind`, so a
#: group's opening cases find theirs by id (read_ahead_parked_facts).
PARKED_KINDS = ("evidence_assessment", "debit_confirmed")


def park_fact(tx: UnitOfWork, *, complaint_id: str, kind: str, data: Mapping[str, Any], at: Any) -> None:
    """Keep a fact that came before its case (the latest of each kind), for the case to take when it opens."""
    if kind not in PARKED_KINDS:
        raise ValueError(f"kind: {kind!r} is not one of PARKED_KINDS {PARKED_KINDS}")
    facts = tx.collection(ParkedFact)
    key = f"{complaint_id}:{kind}"
    seen = facts.find_one({"_id": key}, {"at": 1}, session=tx.session)
    if seen is not None and seen["at"].replace(tzinfo=None) > at.replace(tzinfo=None):
        return  # an older fact never replaces a newer one
    facts.replace_one({"_id": key}, {"_id": key, "complaint_id": complaint_id, "kind": kind, "data": dict(data),
                                     "at": at}, upsert=True, session=tx.session)


def read_ahead_parked_facts(uow: UnitOfWork, *, complaint_ids: Iterable[str]) -> None:
    """Read the facts parked for these complaints in one query by id, in the unit's transaction,
    for take_parked_facts: a poll of filings, almost none of which has a fact waiting, then costs
    one lookup rather than one per filing."""
    ids = list(dict.fromkeys(complaint_ids))
    found = uow.read_ahead_ids(ParkedFact, [f"{cid}:{kind}" for cid in ids for kind in PARKED_KINDS])
    for cid in ids:
        uow.read_ahead[(ParkedFact, cid)] = {
            kind: doc["data"] for kind in PARKED_KINDS if (doc := found.get(f"{cid}:{kind}")) is not None}


def take_parked_facts(tx: UnitOfWork, *, complaint_id: str) -> dict[str, dict[str, Any]]:
    """The facts parked for a complaint, by kind, removed as the case takes them (as read ahead in
    the unit, else read now)."""
    facts = tx.collection(ParkedFact)
    ahead = tx.read_ahead.get((ParkedFact, complaint_id))
    if ahead is None:
        ahead = {d["kind"]: d["data"] for d in facts.find({"complaint_id": complaint_id}, session=tx.session)}
    if ahead:
        facts.delete_many({"complaint_id": complaint_id}, session=tx.session)
    return dict(ahead)


def get_merchant_history(uow: UnitOfWork, *, platform: str, merchant_id: str,
                         count_open: bool) -> MerchantHistory:
    """The merchant's history as the unit read it ahead (see read_ahead_merchant_histories), else read now."""
    ahead = (MerchantHistory, (platform, merchant_id))
    if ahead in uow.read_ahead:
        return uow.read_ahead[ahead]
    return _read_history(platform=platform, merchant_id=merchant_id, count_open=count_open)


def read_ahead_merchant_histories(uow: UnitOfWork, *, merchants: Iterable[tuple[str, str]],
                                  count_open: bool) -> None:
    """Read the history of each (platform, merchant id) once into the unit's read-ahead.

    One query per merchant, never one `$in` over them all: the embedded store reads every case
    for a merchant_id `$in`."""
    for platform, merchant_id in dict.fromkeys(merchants):
        uow.read_ahead[(MerchantHistory, (platform, merchant_id))] = _read_history(
            platform=platform, merchant_id=merchant_id, count_open=count_open)


def _read_history(*, platform: str, merchant_id: str, count_open: bool) -> MerchantHistory:
    """The merchant's breached clocks so far, and its open complaints when count_open.

    Read outside any transaction. Only the merchant's cases with a breach are read (the
    (platform, merchant_id, breach_count) index serves exactly them), so a shop with thousands of
    complaints costs a filing no more than a quiet one; counting its open complaints reads every
    case of the merchant, so it is done only when asked."""
    cases = database()[Case._get_collection_name()]
    found = cases.find({"platform": platform, "merchant_id": merchant_id, "breach_count": {"$gt": 0}},
                       {"breach_count": 1})
    breached = sum(int(doc.get("breach_count", 0)) for doc in found)
    if not count_open:
        return MerchantHistory(breached_clocks=breached)
    rows = list(cases.aggregate([
        {"$match": {"platform": platform, "merchant_id": merchant_id}},
        {"$group": {"_id": None,
                    "open": {"$sum": {"$cond": [{"$in": ["$state", [s.value for s in ACTIVE]]}, 1, 0]}}}},
    ]))
    return MerchantHistory(open_complaints=rows[0]["open"] if rows else 0, breached_clocks=breached)
