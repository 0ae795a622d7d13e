"""MongoDB access: one mongoengine connection per service and transactions over it."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

import mongoengine
from mongoengine import Document
from mongoengine.connection import get_connection, get_db
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import (AutoReconnect, ConnectionFailure, InvalidOperation, NetworkTimeout,
                            ServerSelectionTimeoutError)

T = TypeVar("T")

#: Errors that mean "the store is not reachable right now": retry, report not-ready, answer 503.
STORE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)


def connect(*, uri: str, db: str, timeout_ms: int) -> None:
    """Register the default mongoengine connection (lazy: no round-trip until first use)."""
    mongoengine.disconnect()
    mongoengine.connect(
        db=db,
        host=uri,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 4, 10_000),
        # Retryable writes follow the URI (the driver's default is on; the embedded store's URI
        # turns them off, see shared/runtime/embedded.py).
    )


def client() -> MongoClient:
    """The service's MongoClient."""
    return get_connection()


def database() -> Database:
    """The service's database."""
    return get_db()


def ping() -> None:
    """One round-trip to the server; raises a STORE_UNAVAILABLE error when it is down."""
    client().admin.command("ping")


def ensure_indexes(*documents: type[Document]) -> None:
    """Create the declared indexes of each document class (idempotent)."""
    for document in documents:
        document.ensure_indexes()


class Tx:
    """Writes inside one transaction: documents, raw updates, consumed ids and outbox events."""

    def __init__(self, session: ClientSession, *, shared: bool = False) -> None:
        self.session = session
        self.db = database()
        self.after_commit: list[Callable[[], None]] = []
        #: A transaction several consumed messages share (see `Batch`): `defer` and `defer_writes`
        #: hold inserts and writes until `flush`, one request per collection instead of one each.
        self.shared = shared
        self._deferred: dict[type[Document], list[Document]] = {}
        self._writes: dict[type[Document], list[Any]] = {}

    def collection(self, document: type[Document]) -> Any:
        """The pymongo collection behind a document class."""
        return self.db[document._get_collection_name()]

    def insert(self, doc: Document) -> None:
        """Validate a mongoengine document and insert it in this transaction."""
        doc.validate()
        self.collection(type(doc)).insert_one(doc.to_mongo().to_dict(), session=self.session)

    def insert_many(self, docs: list[Document]) -> None:
        """Validate and insert several documents of one class in this transaction."""
        if not docs:
            return
        for doc in docs:
            doc.validate()
        self.collection(type(docs[0])).insert_many(
            [doc.to_mongo().to_dict() for doc in docs], session=self.session, ordered=True
        )

    def defer(self, docs: list[Document]) -> None:
        """Insert documents of one class that nothing in this transaction reads back.

        In a shared transaction they are written together at `flush`; otherwise at once. A
        duplicate key then surfaces at flush, and the whole batch is undone (see `Batch`).
        """
        if not self.shared:
            if len(docs) == 1:
                self.insert(docs[0])  # a duplicate key raises DuplicateKeyError, as callers expect
            else:
                self.insert_many(docs)
            return
        for doc in docs:
            doc.validate()
        if docs:
            self._deferred.setdefault(type(docs[0]), []).extend(docs)

    def defer_writes(self, document: type[Document], operations: list[Any]) -> None:
        """Queue pymongo write operations (UpdateOne …) of a shared transaction for `flush`."""
        assert self.shared, "only a shared transaction defers writes"
        self._writes.setdefault(document, []).extend(operations)

    def flush(self) -> None:
        """Write what was deferred: one insert_many, then one bulk_write, per collection, in order."""
        deferred, self._deferred = self._deferred, {}
        for cls, docs in deferred.items():
            self.collection(cls).insert_many(
                [doc.to_mongo().to_dict() for doc in docs], session=self.session, ordered=True)
        writes, self._writes = self._writes, {}
        for cls, operations in writes.items():
            self.collection(cls).bulk_write(operations, ordered=True, session=self.session)


#: The shared transaction of the batch being applied in this context, if any.
_SHARED: contextvars.ContextVar[Tx | None] = contextvars.ContextVar("shared_tx", default=None)


def shared_tx() -> Tx | None:
    """The shared transaction this code runs in (a consumer's batch), if any."""
    return _SHARED.get()


class Batch:
    """One transaction that several consumed messages' handlers join (see `transaction`).

    A consumer opens it, runs each message's handler (each handler's `transaction` calls become
    part of it), then commits: one commit, one ledger insert and one outbox insert for the whole
    batch. Anything going wrong aborts all of it, and the consumer applies the messages one by one.
    """

    def __init__(self) -> None:
        self._session = client().start_session()
        self._session.start_transaction()
        self.tx = Tx(self._session, shared=True)
        self._token: contextvars.Token[Tx | None] | None = None
        self._ended = False

    def join(self) -> None:
        """Make handlers run in this context join the batch's transaction."""
        self._token = _SHARED.set(self.tx)

    def leave(self) -> None:
        """Stop joining (the transaction stays open until commit or abort)."""
        if self._token is not None:
            _SHARED.reset(self._token)
            self._token = None

    def commit(self) -> None:
        """Write what was deferred, commit, then run the after-commit hooks."""
        try:
            self.tx.flush()
            self._session.commit_transaction()
        except BaseException:
            self.abort()
            raise
        self._ended = True
        self._session.end_session()
        for hook in self.tx.after_commit:
            hook()

    def abort(self) -> None:
        """Undo everything the batch wrote in its transaction (again: nothing)."""
        if self._ended:
            return
        self._ended = True
        try:
            if self._session.in_transaction:
                self._session.abort_transaction()
        except (*STORE_UNAVAILABLE, InvalidOperation):
            pass  # the server drops an unfinished transaction on its own; a failed commit left none
        finally:
            self._session.end_session()


def transaction(work: Callable[[Tx], T]) -> T:
    """Run `work` in one multi-document transaction, retrying transient conflicts.

    Inside a `Batch` the work joins the batch's transaction instead (its hooks run after that commits).
    """
    shared = _SHARED.get()
    if shared is not None:
        return work(shared)
    with client().start_session() as session:
        holder: dict[str, Tx] = {}

        def _callback(s: ClientSession) -> T:
            holder["tx"] = Tx(s)
            return work(holder["tx"])

        result = session.with_transaction(_callback)
    for hook in holder["tx"].after_commit:
        hook()
    return result
