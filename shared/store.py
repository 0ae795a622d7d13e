"""MongoDB access: one mongoengine connection per service and transactions over it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import mongoengine
from mongoengine import Document
from mongoengine.connection import get_connection, get_db
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

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

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.db = database()
        self.after_commit: list[Callable[[], None]] = []

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


def transaction(work: Callable[[Tx], T]) -> T:
    """Run `work` in one multi-document transaction, retrying transient conflicts."""
    with client().start_session() as session:
        holder: dict[str, Tx] = {}

        def _callback(s: ClientSession) -> T:
            holder["tx"] = Tx(s)
            return work(holder["tx"])

        result = session.with_transaction(_callback)
    for hook in holder["tx"].after_commit:
        hook()
    return result
