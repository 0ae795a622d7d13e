"""Append-only custody log per evidence item, kept as a SHA-256 hash chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

GENESIS_HASH = "0" * 64


class CustodyAction(StrEnum):
    """What happened to the item."""

    UPLOADED = "uploaded"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    VERIFIED = "verified"
    EXPORTED = "exported"


class CustodyEntry(BaseModel):
    """One link of the chain; `entry_hash` covers every other field."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    item_id: str
    action: CustodyAction
    actor: str
    at: AwareDatetime
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class ChainProblem(BaseModel):
    """What is wrong with the chain at one entry."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    problem: str
    message: str


def _stamp(at: datetime) -> str:
    # Milliseconds only: document stores round-trip no finer, and a finer stamp would break
    # the hash after a save and reload.
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def compute_hash(*, sequence: int, item_id: str, action: str, actor: str, at: datetime,
                 details: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of an entry's fields."""
    body = {"sequence": sequence, "item_id": item_id, "action": str(action), "actor": actor,
            "at": _stamp(at), "details": details, "prev_hash": prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(*, previous: CustodyEntry | None, item_id: str, action: CustodyAction | str,
           actor: str, at: datetime, details: Mapping[str, Any] | None = None) -> CustodyEntry:
    """Return the next entry after `previous` (None starts the chain); the caller stores it."""
    if at.tzinfo is None:
        raise ValueError("at: custody times must be timezone-aware (UTC)")
    if previous is not None and previous.item_id != item_id:
        raise ValueError(f"item_id: the previous entry belongs to item {previous.item_id}")
    at = at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)
    # Round-trip through JSON so the stored details hash the same after a reload.
    plain = json.loads(json.dumps(dict(details or {}), ensure_ascii=False))
    sequence = 1 if previous is None else previous.sequence + 1
    prev_hash = GENESIS_HASH if previous is None else previous.entry_hash
    action = CustodyAction(action)
    digest = compute_hash(sequence=sequence, item_id=item_id, action=action, actor=actor,
                          at=at, details=plain, prev_hash=prev_hash)
    return CustodyEntry(sequence=sequence, item_id=item_id, action=action, actor=actor, at=at,
                        details=plain, prev_hash=prev_hash, entry_hash=digest)


def verify_chain(*, entries: Sequence[CustodyEntry],
                 expected_head: str | None = None) -> list[ChainProblem]:
    """List every problem, naming the entry; empty means intact.

    `expected_head` is the last entry_hash stored apart from the log (e.g. on the item), which
    is the only way to notice entries cut off the end.
    """
    problems: list[ChainProblem] = []

    def note(sequence: int, problem: str, message: str) -> None:
        problems.append(ChainProblem(sequence=sequence, problem=problem, message=message))

    if not entries:
        note(0, "empty", "the custody log has no entries; every item starts with 'uploaded'")
        return problems
    for index, entry in enumerate(entries):
        n = entry.sequence
        if n != index + 1:
            note(n, "out_of_order", f"entry {n} stands at position {index + 1}: an entry was "
                                    "removed, inserted or reordered")
        recomputed = compute_hash(sequence=n, item_id=entry.item_id, action=entry.action,
                                  actor=entry.actor, at=entry.at, details=entry.details,
                                  prev_hash=entry.prev_hash)
        if recomputed != entry.entry_hash:
            note(n, "edited", f"entry {n} does not match its hash: it was edited after writing")
        expected_prev = GENESIS_HASH if index == 0 else entries[index - 1].entry_hash
        if entry.prev_hash != expected_prev:
            note(n, "broken_link", f"entry {n} does not link to the entry before it")
        if entry.item_id != entries[0].item_id:
            note(n, "foreign_item", f"entry {n} belongs to item {entry.item_id}, "
                                    f"not {entries[0].item_id}")
        if index and entry.at < entries[index - 1].at:
            note(n, "time_reversed", f"entry {n} is dated before the entry before it")
    if expected_head is not None and entries[-1].entry_hash != expected_head:
        last = entries[-1].sequence
        note(last, "head_mismatch", f"the log ends at entry {last} but the recorded head is "
                                    "another entry: entries were cut off or replaced")
    return problems
