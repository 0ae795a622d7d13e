"""MongoDB access: one mongoengine connection per service and transactions over it."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import mongoengine
from mongoengine import Document
from mongoengine.connection import get_connection, get_db
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import (AutoReconnect, BulkWriteError, ConnectionFailure, InvalidOperation, NetworkTimeout,
                            PyMongoError, ServerSelectionTimeoutError)

T = TypeVar("T")
log = logging.getLogger(__name__)

#: The server's error code for a duplicate key.
DUPLICATE_KEY = 11000

#: Errors that mean "the store is not reachable right now": retry, report not-ready, answer 503.
STORE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)


def is_conflict(exc: BaseException) -> bool:
    """A transaction lost a write conflict (WriteConflict, TransientTransactionError): try again."""
    if not isinstance(exc, PyMongoError):
        return False
    details = getattr(exc, "details", None) or {}
    return (exc.has_error_label("TransientTransactionError") or getattr(exc, "code", None) == 112
            or any(e.get("code") == 112 for e in details.get("writeErrors", [])))


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
    """One round-trip to the server; raises a STORE_UNAVAILABLE error when it is down.

    Not traced: readiness probes ask every few seconds, and a span per probe would fill the trace
    store with traces of nothing."""
    with suppress_instrumentation():
        client().admin.command("ping")


def ensure_indexes(*documents: type[Document]) -> None:
    """Create the declared indexes of each document class (idempotent), and drop the ones it lists
    as `retired_indexes` where the store still has them: every index costs each write."""
    for document in documents:
        document.ensure_indexes()
        if retired := getattr(document, "retired_indexes", ()):
            collection = document._get_collection()
            for name in set(retired) & set(collection.index_information()):
                collection.drop_index(name)


class Tx:
    """Writes inside one transaction: documents, raw updates, consumed ids and outbox events (in a
    batch that is not atomic, the same writes with no transaction around them; see `Batch`)."""

    def __init__(self, session: ClientSession | None, *, shared: bool = False) -> None:
        #: None in a batch that is not atomic (see `Batch`): each write then stands on its own.
        self.session = session
        self.db = database()
        self.after_commit: list[Callable[[], None]] = []
        #: A transaction several consumed messages share (see `Batch`): `defer` and `defer_writes`
        #: hold inserts and writes until `flush`, one request per collection instead of one each.
        self.shared = shared
        self._deferred: dict[type[Document], list[Document]] = {}
        self._repeatable: dict[type[Document], list[Document]] = {}
        self._writes: dict[type[Document], list[Any]] = {}
        #: What a shared transaction's consumer read ahead for all its messages at once, by
        #: (document class or other kind, id); None where the document does not exist (see Consumer
        #: `prepare`). Also what a transaction keeps of a read it would otherwise repeat.
        self.read_ahead: dict[tuple[Any, Any], Any] = {}

    def collection(self, document: type[Document]) -> Any:
        """The pymongo collection behind a document class."""
        return self.db[document._get_collection_name()]

    def read_ahead_ids(self, document: type[Document], ids: list[Any]) -> dict[Any, dict[str, Any]]:
        """Read the documents of these ids in one query into `read_ahead` (None for each missing
        one), for `get` to answer later in this transaction; the ones found, by id."""
        found = {doc["_id"]: doc for doc in
                 self.collection(document).find({"_id": {"$in": ids}}, session=self.session)} if ids else {}
        for one in ids:
            self.read_ahead[(document, one)] = found.get(one)
        return found

    def get(self, document: type[Document], doc_id: Any) -> dict[str, Any] | None:
        """The raw document of an id: as read ahead in this transaction, else read now."""
        ahead = (document, doc_id)
        if ahead in self.read_ahead:
            return self.read_ahead[ahead]
        return self.collection(document).find_one({"_id": doc_id}, session=self.session)

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

    # find_one_and_update / find_one_and_delete are not used on collections that grow: the embedded
    # store's findAndModify writes through a filter of `_id` plus `$and: [query]`, which no index
    # serves, so every call that finds a document reads the whole collection (95 ms at 20,000
    # documents against 0.6 ms for an update by _id). In a transaction a read and then a write of
    # the same document are as good as one step: a concurrent writer of that document makes one of
    # the two transactions fail, and it is retried.

    def update_before(self, document: type[Document], query: dict[str, Any], update: dict[str, Any], *,
                      upsert: bool = False) -> dict[str, Any] | None:
        """Update the first document `query` finds and return it as it was (None: none found, and
        one is inserted if `upsert`), as find_one_and_update does."""
        coll = self.collection(document)
        before = coll.find_one(query, session=self.session)
        if before is not None:
            coll.update_one({"_id": before["_id"]}, update, session=self.session)
        elif upsert:
            coll.update_one(query, update, upsert=True, session=self.session)
        return before

    def delete_before(self, document: type[Document], query: dict[str, Any]) -> dict[str, Any] | None:
        """Delete the first document `query` finds and return it (None: none found), as
        find_one_and_delete does."""
        coll = self.collection(document)
        before = coll.find_one(query, session=self.session)
        if before is not None:
            coll.delete_one({"_id": before["_id"]}, session=self.session)
        return before

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
        _validate_into(self._deferred, docs)

    def write(self, document: type[Document], operations: list[Any]) -> None:
        """Apply pymongo write operations (UpdateOne …) that nothing in this transaction reads back:
        at once, or in a shared transaction at `flush`, in order with the others of the collection."""
        if self.shared:
            self.defer_writes(document, operations)
        elif operations:
            self.collection(document).bulk_write(operations, ordered=True, session=self.session)

    def defer_writes(self, document: type[Document], operations: list[Any]) -> None:
        """Queue pymongo write operations (UpdateOne …) of a shared transaction for `flush`."""
        assert self.shared, "only a shared transaction defers writes"
        if operations:  # a bulk write of nothing is an error
            self._writes.setdefault(document, []).extend(operations)

    def defer_repeatable(self, docs: list[Document]) -> None:
        """Insert documents of one class in a shared batch that is not atomic (see `Batch`), where a
        message applied again finds its document already there: written at `flush` in one insert
        that skips the ones whose id exists. An upsert each cost the embedded store three times as
        much, and a plain insert would fail the whole batch on the first repeat."""
        assert self.shared and self.session is None, "only a batch that is not atomic skips repeats"
        _validate_into(self._repeatable, docs)

    def flush(self) -> None:
        """Write what was deferred: per collection, one insert_many of new documents, one of
        repeatable ones, then one bulk_write of the other writes in order."""
        deferred, self._deferred = self._deferred, {}
        for cls, docs in deferred.items():
            self.collection(cls).insert_many(
                [doc.to_mongo().to_dict() for doc in docs], session=self.session, ordered=True)
        repeatable, self._repeatable = self._repeatable, {}
        for cls, docs in repeatable.items():
            insert_new(self.collection(cls), [doc.to_mongo().to_dict() for doc in docs])
        writes, self._writes = self._writes, {}
        for cls, operations in writes.items():
            self.collection(cls).bulk_write(operations, ordered=True, session=self.session)


def insert_new(collection: Any, docs: list[dict[str, Any]]) -> None:
    """Insert documents outside any transaction, skipping those whose id is already there (a write
    repeated); any other failure raises."""
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])) \
                or exc.details.get("writeConcernErrors"):
            raise


def _validate_into(queued: dict[type[Document], list[Document]], docs: list[Document]) -> None:
    """Validate documents of one class and queue them under it for a flush."""
    for doc in docs:
        doc.validate()
    if docs:
        queued.setdefault(type(docs[0]), []).extend(docs)


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

    Not `atomic`, it holds no transaction: what the handlers defer goes out at commit in the same
    bulk writes, each write standing on its own, and a handler's `transaction` runs alone. That is
    for handlers whose every write may repeat (an upsert, a guarded update), for which a failure
    halfway is undone by applying the messages again: the store spends nothing on a transaction,
    and its transactions' statements, which it serialises, do not wait behind these writes.
    """

    def __init__(self, *, atomic: bool = True) -> None:
        self._session = client().start_session() if atomic else None
        if self._session is not None:
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
            if self._session is not None:
                self._session.commit_transaction()
        except BaseException:
            self.abort()
            raise
        self._ended = True
        if self._session is not None:
            self._session.end_session()
        for hook in self.tx.after_commit:
            hook()

    def abort(self) -> None:
        """Undo everything the batch wrote in its transaction (again: nothing). Not atomic, what
        its commit wrote before failing stays: the messages applied again repeat it."""
        if self._ended:
            return
        self._ended = True
        if self._session is None:
            return
        try:
            if self._session.in_transaction:
                self._session.abort_transaction()
        except (*STORE_UNAVAILABLE, InvalidOperation):
            pass  # the server drops an unfinished transaction on its own; a failed commit left none
        finally:
            self._session.end_session()


def transaction(work: Callable[[Tx], T]) -> T:
    """Run `work` in one multi-document transaction, retrying transient conflicts.

    Inside a `Batch` the work joins the batch's transaction instead (its hooks run after that commits),
    unless the batch is not atomic.
    """
    shared = _SHARED.get()
    if shared is not None and shared.session is not None:
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


@dataclass(kw_only=True)
class _Handed:
    """What a caller hands to a grouping thread, and the outcome it waits for."""

    context: otel_context.Context = field(default_factory=otel_context.get_current)
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None
    settled: bool = False  # result or error is final

    def succeed(self, result: Any) -> None:
        self.result, self.settled = result, True

    def fail(self, error: BaseException) -> None:
        self.error, self.settled = error, True


@dataclass
class _Job(_Handed, Generic[T]):
    work: Callable[[Tx], T]

    def run_alone(self) -> None:
        token = otel_context.attach(self.context)
        try:
            self.succeed(transaction(self.work))
        except BaseException as exc:  # handed to the caller's thread, raised there
            self.fail(exc)
        finally:
            otel_context.detach(token)


@dataclass
class _Ask(_Handed, Generic[T]):
    key: T


H = TypeVar("H", bound=_Handed)
K = TypeVar("K")


class _Grouping(Generic[H]):
    """One thread serving what callers hand in, a group at a time: the next item (waiting for one)
    with every item already waiting, up to `max_group`. Each caller waits for its own outcome."""

    def __init__(self, *, thread_name: str, max_group: int) -> None:
        self._thread_name = thread_name
        self._max_group = max_group
        self._waiting: queue.SimpleQueue[H] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _hand_in(self, item: H) -> Any:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._thread_name, daemon=True)
                self._thread.start()
        self._waiting.put(item)
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def _serve(self, group: list[H]) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while True:
            group = [self._waiting.get()]
            while len(group) < self._max_group:
                try:
                    group.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self._serve(group)
            except BaseException as exc:  # never leave a caller waiting, never stop serving
                for item in group:
                    if not item.settled:
                        item.fail(exc)
            finally:
                for item in group:
                    item.done.set()


class GroupCommit(_Grouping[_Job[Any]]):
    """Transactions handed in by many threads (HTTP requests), committed together.

    The store serialises commits, so under load each request waiting for its own commit is what
    limits the rate. One thread takes every job queued while the previous group committed, runs
    each job's work in one shared transaction (see `Batch`: inserts and writes go out in one request
    per collection) under the job's own trace context, and commits once. If anything in the group
    fails (a duplicate key, a conflict), the group is undone and each job runs alone, so each
    caller sees exactly the outcome its own transaction would have had. A job alone in the queue
    runs alone: no waiting is added when there is no load.
    """

    def __init__(self, *, name: str, max_group: int = 32) -> None:
        super().__init__(thread_name=f"group-commit-{name}", max_group=max_group)
        self._name = name

    def run(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in a transaction (possibly shared with others); its result or its error."""
        result: T = self._hand_in(_Job(work=work))
        return result

    def _serve(self, group: list[_Job[Any]]) -> None:
        if len(group) > 1:
            try:
                batch = Batch()
            except STORE_UNAVAILABLE as exc:
                self._unavailable(group, exc)
                return
            else:
                try:
                    results = []
                    batch.join()
                    try:
                        for job in group:
                            token = otel_context.attach(job.context)
                            try:
                                results.append(job.work(batch.tx))
                            finally:
                                otel_context.detach(token)
                    finally:
                        batch.leave()
                    batch.commit()
                except STORE_UNAVAILABLE as exc:
                    batch.abort()
                    self._unavailable(group, exc)
                    return
                except BaseException as exc:
                    batch.abort()
                    log.debug("group commit %s of %d undone, each runs alone: %s", self._name, len(group), exc)
                else:
                    for job, result in zip(group, results, strict=True):
                        job.succeed(result)
                    return
        for job in group:
            job.run_alone()

    def _unavailable(self, group: list[_Job[Any]], exc: BaseException) -> None:
        """The store is down: every job of the group fails now (its caller answers 503) instead of
        each waiting out the store's timeout in turn behind the others."""
        log.warning("group commit %s: store unavailable, %d jobs fail: %s", self._name, len(group), exc)
        for job in group:
            job.fail(exc)


class GroupRead(_Grouping[_Ask[K]], Generic[K, T]):
    """Point reads asked for by many threads at once, answered by one query.

    Under load, concurrent requests each reading a few documents queue up at the store one by one;
    here one thread takes every key asked for while the previous query ran and reads them all in
    one `read(keys)` (which returns a value for every key it was given). A read always starts after
    its caller asked, so an answer is never older than the question; a key asked alone is read at
    once. The query runs under the first caller's trace context; a failure is raised to every
    caller of the group.
    """

    def __init__(self, *, name: str, read: Callable[[list[K]], dict[K, T]], max_group: int = 64) -> None:
        super().__init__(thread_name=f"group-read-{name}", max_group=max_group)
        self._read = read

    def get(self, key: K) -> T:
        """The value read for `key` (the read's error, if it failed)."""
        value: T = self._hand_in(_Ask(key=key))
        return value

    def _serve(self, group: list[_Ask[K]]) -> None:
        token = otel_context.attach(group[0].context)
        try:
            values = self._read(list(dict.fromkeys(ask.key for ask in group)))
        finally:
            otel_context.detach(token)
        for ask in group:
            ask.succeed(values[ask.key])
