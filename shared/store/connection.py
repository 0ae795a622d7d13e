"""The service's MongoDB connection: connect, ping, indexes, and what its errors mean."""

from __future__ import annotations

import logging
from typing import Any

import mongoengine
from mongoengine import Document
from mongoengine.connection import get_connection, get_db
from opentelemetry.instrumentation.utils import suppress_instrumentation
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)

log = logging.getLogger(__name__)

#: The server's error code for a duplicate key.
DUPLICATE_KEY = 11000

#: A unique index refused a write: what the code relies on for "exactly once" (a slot taken, an
#: answer stored, an event applied). Use cases catch it under this name, without the driver's.
DuplicateKey = DuplicateKeyError

#: Errors that mean "the store is not reachable right now": retry, report not-ready, answer 503.
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
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


def insert_new(collection: Any, docs: list[dict[str, Any]]) -> None:
    """Insert documents outside any transaction, skipping those whose id is already there (a write
    repeated); any other failure raises."""
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])) \
                or exc.details.get("writeConcernErrors"):
            raise
