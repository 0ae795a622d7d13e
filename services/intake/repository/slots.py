"""Open-complaint slots: the dedup guard, and the per-merchant tally of open complaints it feeds.

A slot is held from filing until the complaint finishes or is withdrawn. Priority asks how many
open complaints the merchant has; counting them in the store on every filing costs as much as the
merchant has open complaints (the embedded store reads every index match whatever the limit), so
the count is kept instead: a slot that names its merchant adds one to the merchant's tally, and
freeing it takes that one away, each in the transaction that writes the slot.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from pymongo import UpdateOne

from services.intake.models import Complaint, MerchantTally, OpenComplaint
from shared.store import GroupRead, UnitOfWork, database

#: Documents one merchant's tally is spread over, so that instances filing against the same shop at
#: once write different ones (two transactions writing one document conflict, and one starts over).
#: The count is read by the merchant field, whatever shards exist, so this may change freely
#: (documents of shards from when there were 64 are still counted, and frees still take from them).
#: Each is read on every filing: 64 of a busy shop cost the embedded store 1.3-1.8 ms, 16 cost 0.7 ms.
TALLY_SHARDS = 16
#: How long a process writes one shard before it draws another.
SHARD_HOLD_S = 1.0


class _Shard:
    """The shard this process's filings write now: one at a time, drawn at random every SHARD_HOLD_S.

    An instance's filings commit one group after another, so they never conflict with each other
    and may all write one document; two instances meet on one only when they drew the same (1 in
    TALLY_SHARDS), and never for long. (Taking the shards in turn, a group of five filings wrote
    five documents, and two instances' groups then met on one in 9 draws of 64.)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shard, self._until = 0, 0.0

    def now(self) -> int:
        at = time.monotonic()
        with self._lock:
            if at >= self._until:
                self._shard, self._until = random.randrange(TALLY_SHARDS), at + SHARD_HOLD_S
            return self._shard


_shard = _Shard()


def _merchant_key(*, platform: str, merchant_id: str) -> str:
    return f"{platform}\x1f{merchant_id}"


def _tally_id(*, platform: str, merchant_id: str, shard: int) -> str:
    return f"{_merchant_key(platform=platform, merchant_id=merchant_id)}\x1f{shard}"


def _add(tx: UnitOfWork, *, platform: str, merchant_id: str, shard: int, by: int) -> None:
    where = {"_id": _tally_id(platform=platform, merchant_id=merchant_id, shard=shard)}
    change = {"$inc": {"open": by}, "$set": {"merchant": _merchant_key(platform=platform, merchant_id=merchant_id)}}
    if tx.grouped:  # nothing in the transaction reads the tally back: one bulk write at its end
        # A group's filings against one shop write one shard: one update adding them all, not one each
        # (the store rewrites the document and its index entries for every update).
        queued = tx.queued.get((MerchantTally, where["_id"]))
        if queued is not None:
            queued["$inc"]["open"] += by
            return
        tx.queued[(MerchantTally, where["_id"])] = change
        tx.write(MerchantTally, [UpdateOne(where, change, upsert=True)])
    else:
        tx.collection(MerchantTally).update_one(where, change, upsert=True, session=tx.session)


def take(tx: UnitOfWork, *, digest: str, complaint: Complaint) -> None:
    """Hold the dedup slot for the complaint and count it for its merchant (DuplicateKey: taken)."""
    merchant_id, shard = str(complaint.merchant["id"]), _shard.now()
    tx.add([OpenComplaint(id=digest, complaint_id=complaint.id, ticket=complaint.ticket,
                            platform=complaint.platform, merchant_id=merchant_id, tally_shard=shard)])
    _add(tx, platform=complaint.platform, merchant_id=merchant_id, shard=shard, by=1)


def free(tx: UnitOfWork, *, complaint_id: str) -> dict[str, Any] | None:
    """Release the complaint's slot and its count; the slot as it was, or None if it held none."""
    row = tx.delete_before(OpenComplaint, {"complaint_id": complaint_id})
    # A slot written before slots named their merchant was never counted, so it is not taken away.
    if row is not None and row.get("merchant_id") is not None:
        _add(tx, platform=row["platform"], merchant_id=row["merchant_id"], shard=row["tally_shard"], by=-1)
    return row


def take_again(tx: UnitOfWork, *, held: dict[str, Any] | None, digest: str, complaint: Complaint) -> None:
    """Hold a new slot for a complaint whose slot `held` was just freed (see `free`), counted unless
    that one was not (DuplicateKey: taken)."""
    if held is None or held.get("merchant_id") is not None:
        take(tx, digest=digest, complaint=complaint)
    else:  # a slot from before slots were counted stays uncounted
        tx.collection(OpenComplaint).insert_one(
            {"_id": digest, "complaint_id": complaint.id, "ticket": complaint.ticket}, session=tx.session)


def get_slot(*, digest: str) -> OpenComplaint | None:
    """The slot of this digest, or None when no open complaint holds it."""
    return OpenComplaint.objects(id=digest).first()


def get_holder(*, digest: str) -> Complaint | None:
    """The open complaint holding the slot of this digest, or None."""
    row = database()[OpenComplaint._get_collection_name()].find_one({"_id": digest})
    return Complaint.objects(id=row["complaint_id"]).first() if row else None


def _read_tallies(merchants: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The open count of each (platform, merchant id): one indexed query for all of them.

    (By _id, all shard ids of a busy merchant cost the embedded store three times as much.)"""
    keys = {_merchant_key(platform=platform, merchant_id=merchant_id): (platform, merchant_id)
            for platform, merchant_id in merchants}
    counts = dict.fromkeys(merchants, 0)
    which: Any = next(iter(keys)) if len(keys) == 1 else {"$in": list(keys)}
    for doc in database()[MerchantTally._get_collection_name()].find({"merchant": which}, {"open": 1, "merchant": 1}):
        counts[keys[doc["merchant"]]] += int(doc.get("open", 0))
    return counts


def name_tally_merchants() -> int:
    """Give tally documents written before they named their merchant its name (at start); how many.

    Filings and frees set it on every document they touch, so one that an older instance creates
    during a rolling update gets it when it is next touched, or at the next start."""
    collection = database()[MerchantTally._get_collection_name()]
    unnamed = [doc["_id"] for doc in collection.find({"merchant": {"$exists": False}}, {"_id": 1})]
    if unnamed:
        collection.bulk_write([UpdateOne({"_id": _id}, {"$set": {"merchant": _id.rsplit("\x1f", 1)[0]}})
                               for _id in unnamed], ordered=False)
    return len(unnamed)


def tallies() -> GroupRead[tuple[str, str], int]:
    """The reader of merchants' open counts that concurrent filings share: one query a group, not one each."""
    return GroupRead(name="merchant-tally", read=_read_tallies)


def open_for_merchant(tallies: GroupRead[tuple[str, str], int], *, platform: str, merchant_id: str) -> int:
    """How many complaints against the merchant hold an open slot: one query, whatever the number,
    shared with the filings asking at the same moment (read after this call began)."""
    return tallies.get((platform, merchant_id))
