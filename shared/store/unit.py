"""The unit of work: what one piece of work reads and writes, and the transaction it commits in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from mongoengine import Document
from pymongo import DeleteMany
from pymongo.client_session import ClientSession
from pymongo.errors import InvalidOperation

from shared.store.connection import STORE_UNAVAILABLE, client, database, insert_new

T = TypeVar("T")


class Sink(Protocol):
    """Takes what a unit wrote to its service's outbox once the unit has committed (the relay)."""

    handoff_lease: timedelta

    @property
    def running(self) -> bool:
        """Whether it publishes what it accepts now (otherwise the entries wait for a poll)."""

    def accept(self, entries: list[Any]) -> None:
        """Publish these committed entries now (safe from worker threads)."""


class UnitOfWork:
    """The writes of one piece of work, handed to the code that makes them; its owner commits.

    Three kinds, built by whoever owns the work (the consumer, the group commit, the request):
    - `standalone()`: no transaction of its own. `add` and `write` go out at once, each on its
      own; `transaction(work)` runs `work` in a new transaction, retried on conflicts.
    - `UnitOfWork(session)`: inside one transaction (what `transaction(work)` hands `work`).
    - `group(atomic=…)`: several messages' or requests' work in one shared transaction. `add` and
      `write` are queued and go out at `commit` as one request per collection; `transaction(work)`
      joins the shared transaction. A group that is not atomic holds no transaction: its queued
      writes go out each on its own (an insert skipping ids already there), for work whose every
      write may repeat, and `transaction(work)` runs alone.
    `read_ahead` holds what a group read for all its work at once (see `read_ahead_ids`, `get`).
    """

    def __init__(self, session: ClientSession | None, *, grouped: bool = False, sink: Sink | None = None) -> None:
        self.session = session
        self.grouped = grouped
        #: Where committed outbox entries go at once (the service's relay); None: the relay's poll finds them.
        self.sink = sink
        self.db = database()
        self.after_commit: list[Callable[[], None]] = []
        self.after_abort: list[Callable[[], None]] = []  # when it is undone: nothing of it was stored
        #: Awaited on its owner's loop after its work, before its commit (may still queue writes); None:
        #: its owner awaits nothing (only a consumer's atomic shared transaction does).
        self.before_commit: list[Callable[[], Awaitable[None]]] | None = None
        #: What was read ahead for the work of this unit, by (document class or other kind, id); None
        #: where the document does not exist.
        self.read_ahead: dict[tuple[Any, Any], Any] = {}
        #: What a repository notes about the writes it queued in this unit, e.g. to add to one rather
        #: than queue another (by a key of its own), and the writes held back in a `holding` block.
        self.queued: dict[Any, Any] = {}
        self._inserts: dict[type[Document], list[Document | dict[str, Any]]] = {}
        self._writes: dict[type[Document], list[Any]] = {}
        self._together: dict[type[Document], list[Any]] = {}
        self._ended = False

    @classmethod
    def standalone(cls, *, sink: Sink | None = None) -> UnitOfWork:
        """A unit with no transaction open: each `transaction(work)` is one of its own."""
        return cls(None, sink=sink)

    @classmethod
    def group(cls, *, atomic: bool = True, sink: Sink | None = None) -> UnitOfWork:
        """A unit several pieces of work share, committed once by its owner."""
        session = client().start_session() if atomic else None
        if session is not None:
            session.start_transaction()
        return cls(session, grouped=True, sink=sink)

    @property
    def atomic(self) -> bool:
        """Whether the unit's writes go out in one transaction."""
        return self.session is not None

    def transaction(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in a transaction: this group's, or a new one retried on transient conflicts."""
        if self.grouped and self.atomic:
            return work(self)
        return run_transaction(work, sink=self.sink)

    def commit(self) -> None:
        """Send what was queued, commit, then run the after-commit hooks (a group's owner calls it)."""
        try:
            self._flush()
            if self.session is not None:
                self.session.commit_transaction()
        except BaseException:
            self.abort()
            raise
        self._ended = True
        if self.session is not None:
            self.session.end_session()
        for hook in self.after_commit:
            hook()

    def abort(self) -> None:
        """Undo what the group wrote in its transaction (again: nothing). Not atomic, what its
        commit wrote before failing stays: the work applied again repeats it."""
        if self._ended:
            return
        self._ended = True
        for hook in self.after_abort:
            hook()
        if self.session is None:
            return
        try:
            if self.session.in_transaction:
                self.session.abort_transaction()
        except STORE_UNAVAILABLE + (InvalidOperation,):
            pass  # the server drops an unfinished transaction on its own; a failed commit left none
        finally:
            self.session.end_session()

    def collection(self, document: type[Document]) -> Any:
        """The pymongo collection behind a document class."""
        return self.db[document._get_collection_name()]

    def read_ahead_ids(self, document: type[Document], ids: list[Any]) -> dict[Any, dict[str, Any]]:
        """Read the documents of these ids in one query into `read_ahead` (None for each missing
        one), for `get` to answer later in this unit; the ones found, by id."""
        found = {doc["_id"]: doc for doc in
                 self.collection(document).find({"_id": {"$in": ids}}, session=self.session)} if ids else {}
        for one in ids:
            self.read_ahead[(document, one)] = found.get(one)
        return found

    def get(self, document: type[Document], doc_id: Any) -> dict[str, Any] | None:
        """The raw document of an id: as read ahead in this unit, else read now."""
        ahead = (document, doc_id)
        if ahead in self.read_ahead:
            return self.read_ahead[ahead]
        return self.collection(document).find_one({"_id": doc_id}, session=self.session)

    @contextmanager
    def holding(self, key: Any) -> Iterator[list[Any]]:
        """Within the block, repositories that find `held(key)` append their writes of that kind
        there instead of sending them; the block's owner sends what it yields, as one request, before
        the block ends (a group of timer fires: its case updates and timer re-syncs)."""
        held: list[Any] = []
        self.queued[("holding", key)] = held
        try:
            yield held
        finally:
            self.queued.pop(("holding", key), None)

    def held(self, key: Any) -> list[Any] | None:
        """The writes held back for `key` in an open `holding` block; None outside one."""
        return self.queued.get(("holding", key))

    def insert(self, doc: Document) -> None:
        """Validate a document and insert it now (a duplicate key raises here, in the caller)."""
        doc.validate()
        self.collection(type(doc)).insert_one(doc.to_mongo().to_dict(), session=self.session)

    def add(self, docs: list[Any], *, document: type[Document] | None = None) -> None:
        """Insert documents of one class that nothing in this unit reads back; with `document`, rows
        already in its stored shape (a hot path's: building, validating and encoding a document
        object costs ten times more; the builder answers for the shape: `shared.store.row`).

        Alone, at once (a duplicate key raises DuplicateKeyError here). In a group, at `commit`, one
        insert for the group's documents of the class: a duplicate then fails the whole group, which
        its owner applies piece by piece; in a group that is not atomic the insert skips ids already
        there (the work applied again).
        """
        if not docs:
            return
        if document is None:
            for doc in docs:
                doc.validate()
        cls = document or type(docs[0])
        if self.grouped:  # a document is encoded at commit: its writer may still add to it (an outbox entry)
            self._inserts.setdefault(cls, []).extend(docs)
        elif len(docs) == 1:
            self.collection(cls).insert_one(_row(docs[0]), session=self.session)
        else:
            self.collection(cls).insert_many([_row(doc) for doc in docs], session=self.session, ordered=True)

    def write(self, document: type[Document], operations: list[Any], *, together: bool = False) -> None:
        """Apply pymongo write operations (UpdateOne …) that nothing in this unit reads back: at once,
        or in a group at `commit`, in order with the others of the collection.

        `together`, in a group that is not atomic: the group's writes so marked go out before its
        others, in one short transaction of their own, retried on a write conflict (one commit, where
        each statement outside a transaction commits on its own). First, so that what the others
        record (a timeline step) is never read before what they bring (the status it shows)."""
        if not operations:  # a bulk write of nothing is an error
            return
        if together and self.grouped and not self.atomic:
            self._together.setdefault(document, []).extend(operations)
        elif self.grouped:
            self._writes.setdefault(document, []).extend(operations)
        else:
            self.collection(document).bulk_write(operations, ordered=True, session=self.session)

    def delete_ids(self, document: type[Document], ids: list[Any]) -> None:
        """Delete the documents of these ids, which nothing in this unit reads back: at once, or in a
        group at `commit`, together with the ids queued right before them as one statement.

        One statement for many ids, not one each: outside a transaction the store commits (and syncs)
        every statement on its own, and one delete of a poll's ids commits once."""
        if not ids:
            return
        if not self.grouped:
            self.collection(document).delete_many({"_id": {"$in": list(ids)}}, session=self.session)
            return
        queued = self._writes.setdefault(document, [])
        if queued and isinstance(queued[-1], _DeleteIds):
            queued[-1].ids.extend(ids)
        else:
            queued.append(_DeleteIds(list(ids)))

    def update_before(self, document: type[Document], query: dict[str, Any], update: dict[str, Any], *,
                      upsert: bool = False) -> dict[str, Any] | None:
        """Update the first document `query` finds and return it as it was (None: none found, and
        one is inserted if `upsert`), as find_one_and_update does.

        In a transaction a read and then a write of the same document are as good as one step: a
        concurrent writer of it makes one of the two transactions retry. (findAndModify itself is
        not used on collections that grow: docs/architecture.md, "Store notes", says why.)"""
        coll = self.collection(document)
        before = coll.find_one(query, session=self.session)
        if before is not None:
            coll.update_one({"_id": before["_id"]}, update, session=self.session)
        elif upsert:
            coll.update_one(query, update, upsert=True, session=self.session)
        return before

    def delete_before(self, document: type[Document], query: dict[str, Any]) -> dict[str, Any] | None:
        """Delete the first document `query` finds and return it (None: none found), as
        find_one_and_delete does (see `update_before`)."""
        coll = self.collection(document)
        before = coll.find_one(query, session=self.session)
        if before is not None:
            coll.delete_one({"_id": before["_id"]}, session=self.session)
        return before

    def _flush(self) -> None:
        """Send what was queued: per collection, one insert of the new documents, then one bulk
        write of the other writes in order; a group that is not atomic sends its `together` writes first."""
        together, self._together = self._together, {}
        if sum(len(operations) for operations in together.values()) == 1:
            for cls, operations in together.items():  # one statement commits alone just as well
                self.collection(cls).bulk_write(operations)
        elif together:
            run_transaction(lambda tx: [tx.collection(cls).bulk_write(operations, ordered=True, session=tx.session)
                                        for cls, operations in together.items()])
        inserts, self._inserts = self._inserts, {}
        for cls, docs in inserts.items():
            rows = [_row(doc) for doc in docs]
            if self.atomic:
                self.collection(cls).insert_many(rows, session=self.session, ordered=True)
            else:
                insert_new(self.collection(cls), rows)
        writes, self._writes = self._writes, {}
        for cls, operations in writes.items():
            self.collection(cls).bulk_write([op.operation() if isinstance(op, _DeleteIds) else op for op in operations],
                                            ordered=True, session=self.session)


class _DeleteIds:
    """Ids a group deletes in one statement (see `UnitOfWork.delete_ids`), in its place among the writes."""

    def __init__(self, ids: list[Any]) -> None:
        self.ids = ids

    def operation(self) -> DeleteMany:
        return DeleteMany({"_id": {"$in": self.ids}})


def run_transaction(work: Callable[[UnitOfWork], T], *, sink: Sink | None = None) -> T:
    """Run `work` in one new multi-document transaction, retrying transient conflicts."""
    with client().start_session() as session:
        holder: dict[str, UnitOfWork] = {}

        def _callback(s: ClientSession) -> T:
            holder["unit"] = UnitOfWork(s, sink=sink)
            return work(holder["unit"])

        result = session.with_transaction(_callback)
    for hook in holder["unit"].after_commit:
        hook()
    return result


def _row(doc: Document | dict[str, Any]) -> dict[str, Any]:
    return doc if isinstance(doc, dict) else doc.to_mongo().to_dict()
