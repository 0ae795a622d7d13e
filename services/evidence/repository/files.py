"""Evidence files and the closing marks of complaints in the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from services.evidence.models import ComplaintClosure, EvidenceFile
from shared.envelope import utcnow
from shared.store import UnitOfWork


def get_file(*, ticket: str) -> EvidenceFile | None:
    """The evidence file of a ticket, or None."""
    return EvidenceFile.objects(ticket=ticket).first()


def get_file_doc(tx: UnitOfWork, *, complaint_id: str) -> dict[str, Any] | None:
    """The raw evidence file of a complaint as `tx` sees it, or None."""
    found: dict[str, Any] | None = tx.collection(EvidenceFile).find_one({"_id": complaint_id}, session=tx.session)
    return found


def list_files_for_record(tx: UnitOfWork, *, transaction_id: str,
                          order_number: str | None) -> list[dict[str, Any]]:
    """Raw files whose order names this transaction id, or this order number without an id."""
    either: list[dict[str, Any]] = [{"order.payment_transaction_id": transaction_id}]
    if order_number:
        either.append({"order.order_number": order_number,
                       "order.payment_transaction_id": None})
    return list(tx.collection(EvidenceFile).find({"$or": either}, session=tx.session))


def update_debit_confirmed(tx: UnitOfWork, *, complaint_id: str, transaction_id: str) -> bool:
    """Note that the channel confirmed this transaction's debit for the complaint; False when it
    was noted before (so the confirmation is told once per complaint and transaction)."""
    moved = tx.collection(EvidenceFile).update_one(
        {"_id": complaint_id, "debits_confirmed": {"$ne": transaction_id}},
        {"$addToSet": {"debits_confirmed": transaction_id}}, session=tx.session)
    return moved.modified_count == 1


def create_file(tx: UnitOfWork, *, evidence_file: EvidenceFile) -> None:
    """Add a new evidence file (in a consumer's shared transaction: one insert for the poll's files)."""
    tx.add([evidence_file])


def reserve_number(tx: UnitOfWork, *, complaint_id: str, size: int,
                   max_complaint_bytes: int) -> dict[str, Any] | None:
    """Take the next item number and `size` bytes of an open file's budget; the file as it was
    before, or None when it is not open or the bytes do not fit."""
    return tx.update_before(EvidenceFile, {"_id": complaint_id, "status": "open",
                                           "used_bytes": {"$lte": max_complaint_bytes - size}},
                            {"$inc": {"next_number": 1, "used_bytes": size}})


def update_status(tx: UnitOfWork, *, complaint_id: str, status: str) -> None:
    """Set the status of a complaint's evidence file (if it is open yet)."""
    tx.collection(EvidenceFile).update_one({"_id": complaint_id}, {"$set": {"status": status}},
                                           session=tx.session)


def update_category(tx: UnitOfWork, *, complaint_id: str, category: str) -> None:
    """Set the category of a complaint's evidence file."""
    tx.collection(EvidenceFile).update_one({"_id": complaint_id}, {"$set": {"category": category}},
                                           session=tx.session)


def update_assessment(tx: UnitOfWork, *, complaint_id: str, assessment: dict[str, Any]) -> None:
    """Store the latest verdict on a complaint's evidence."""
    tx.collection(EvidenceFile).update_one({"_id": complaint_id}, {"$set": {"assessment": assessment}},
                                           session=tx.session)


def read_ahead_closures(uow: UnitOfWork, *, complaint_ids: list[str]) -> None:
    """Read these complaints' closing marks in one query, for `get_closure` in this unit to answer from."""
    uow.read_ahead_ids(ComplaintClosure, complaint_ids)


def get_closure(tx: UnitOfWork, *, complaint_id: str) -> dict[str, Any] | None:
    """The closing mark of a complaint (as read ahead, else read now), or None."""
    return tx.get(ComplaintClosure, complaint_id)


def update_closure_opened(tx: UnitOfWork, *, complaint_id: str) -> None:
    """Mark on the complaint's closing document that its file is being opened.

    Written, not only read: a closing event applied meanwhile (another topic, another consumer)
    writes this same document, so the store lets only one of the two transactions commit and
    retries the other. Read alone, both could commit and the file stay open.
    """
    tx.write(ComplaintClosure, [UpdateOne({"_id": complaint_id}, {"$set": {"file_opened_at": utcnow()}},
                                          upsert=True)])


def update_closure_status(tx: UnitOfWork, *, complaint_id: str, status: str, at: datetime) -> None:
    """Record that a complaint was closed, withdrawn or reopened (before its file opened, too)."""
    tx.collection(ComplaintClosure).update_one({"_id": complaint_id}, {"$set": {"status": status, "at": at}},
                                               upsert=True, session=tx.session)
