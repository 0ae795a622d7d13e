"""Evidence content in GridFS: streamed in while hashed and typed, streamed out, orphans swept."""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO, cast

from bson import ObjectId
from gridfs import GridFSBucket, NoFile

from services.evidence.domain.hashing import CHUNK_BYTES, iter_content
from services.evidence.domain.upload import ScannedFile, UploadScanner
from services.evidence.models import EvidenceItem
from shared.envelope import utcnow
from shared.store import database

CHUNK_SIZE = 255 * 1024  # GridFS's default chunk size

_BATCH = 4  # chunk documents per round-trip: about 1 MB in memory at a time


def _bucket() -> GridFSBucket:
    return GridFSBucket(database())


class _ChunkWriter:
    """Writes GridFS chunk documents as each one fills, so memory holds one chunk at most.

    pymongo's GridIn buffers up to 32 MB of chunks before inserting them, which would keep a
    20 MB upload whole in memory; this writer follows the same GridFS layout without that.
    """

    def __init__(self) -> None:
        self.files_id = ObjectId()
        self._buffer = bytearray()
        self._n = 0
        self._length = 0
        self._chunks = database()["fs.chunks"]
        _ensure_indexes()

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= CHUNK_SIZE:
            self._flush(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]

    def _flush(self, data: bytes) -> None:
        self._chunks.insert_one({"files_id": self.files_id, "n": self._n, "data": data})
        self._n += 1
        self._length += len(data)

    def close(self, *, stored_name: str) -> None:
        if self._buffer:
            self._flush(bytes(self._buffer))
            self._buffer.clear()
        database()["fs.files"].insert_one({
            "_id": self.files_id, "length": self._length, "chunkSize": CHUNK_SIZE,
            "uploadDate": utcnow(), "filename": stored_name})

    def abort(self) -> None:
        self._chunks.delete_many({"files_id": self.files_id})


#: The databases whose GridFS indexes this process has made: one check per database, not per upload.
_INDEXED: set[str] = set()


def _ensure_indexes() -> None:
    db = database()
    if db.name in _INDEXED:
        return
    db["fs.chunks"].create_index([("files_id", 1), ("n", 1)], unique=True)
    db["fs.files"].create_index([("filename", 1), ("uploadDate", 1)])
    _INDEXED.add(db.name)


@dataclass
class PendingUpload:
    """Content written chunk by chunk but not yet committed: keep it or discard it."""

    scanned: ScannedFile
    _writer: _ChunkWriter

    def keep(self, *, stored_name: str) -> str:
        """Write the file document under our own name; return the content's id."""
        self._writer.close(stored_name=stored_name)
        return str(self._writer.files_id)

    def discard(self) -> None:
        """Remove every chunk written so far: nothing is left behind."""
        self._writer.abort()


def upload(*, source: BinaryIO, max_bytes: int, budget_left: int) -> PendingUpload:
    """Stream `source` into GridFS while scanning it; any refusal removes the written chunks."""
    scanner = UploadScanner(max_bytes=max_bytes, budget_left=budget_left)
    writer = _ChunkWriter()
    try:
        while chunk := source.read(CHUNK_BYTES):
            scanner.update(chunk)
            writer.write(chunk)
        scanned = scanner.finish()
    except BaseException:
        writer.abort()
        raise
    return PendingUpload(scanned=scanned, _writer=writer)


def delete_content(*, gridfs_id: str) -> None:
    """Delete stored content (used when the item that would own it was not written)."""
    with contextlib.suppress(NoFile):
        _bucket().delete(ObjectId(gridfs_id))


class StoredContent(io.RawIOBase):
    """Stored content read chunk document by chunk document, a few at a time (bounded memory)."""

    def __init__(self, *, files_id: ObjectId, size: int) -> None:
        super().__init__()
        self.size = size
        # GridOut's cursor takes server-sized batches (up to 16 MB); a small batch keeps memory flat.
        self._cursor = database()["fs.chunks"].find({"files_id": files_id},
                                                   sort=[("n", 1)]).batch_size(_BATCH)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            doc = next(self._cursor, None)
            if doc is None:
                return 0
            self._pending = bytes(doc["data"])
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._cursor.close()
        super().close()


def open_content(*, gridfs_id: str) -> BinaryIO | None:
    """A readable stream of stored content, or None when its file document is gone."""
    files_id = ObjectId(gridfs_id)
    stored = database()["fs.files"].find_one({"_id": files_id}, {"length": 1})
    # typeshed does not count io.RawIOBase as a BinaryIO, though it is one at run time.
    return None if stored is None else cast(BinaryIO, StoredContent(files_id=files_id, size=stored["length"]))


def read_head(*, gridfs_id: str, max_bytes: int) -> bytes:
    """The first bytes of stored content (where image metadata lives)."""
    stream = open_content(gridfs_id=gridfs_id)
    if stream is None:
        return b""
    head = bytearray()
    with stream:
        while len(head) < max_bytes and (piece := stream.read(max_bytes - len(head))):
            head += piece
    return bytes(head)


def hash_content(*, gridfs_id: str) -> tuple[str, int] | None:
    """SHA-256 and size of the content as stored now, or None when it is gone."""
    stream = open_content(gridfs_id=gridfs_id)
    if stream is None:
        return None
    sha, size = hashlib.sha256(), 0
    for chunk in iter_content(stream=stream):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size



def delete_orphans(*, older_than: timedelta) -> int:
    """Delete stored content no evidence item owns, once older than `older_than`; return how many:
    chunks without a file document (an upload cut short) and files no item names."""
    db, cutoff = database(), utcnow() - older_than
    started = db["fs.chunks"].distinct(
        "files_id", {"n": 0, "files_id": {"$lt": ObjectId.from_datetime(cutoff)}})
    closed = {d["_id"] for d in db["fs.files"].find({"_id": {"$in": started}}, {"_id": 1})}
    orphans = [files_id for files_id in started if files_id not in closed]
    if orphans:
        db["fs.chunks"].delete_many({"files_id": {"$in": orphans}})
    old_files = [d["_id"] for d in db["fs.files"].find({"uploadDate": {"$lt": cutoff}},
                                                       {"_id": 1})]
    owned = set(db[EvidenceItem._get_collection_name()].distinct(
        "gridfs_id", {"gridfs_id": {"$in": [str(i) for i in old_files]}}))
    unowned = [files_id for files_id in old_files if str(files_id) not in owned]
    for files_id in unowned:
        delete_content(gridfs_id=str(files_id))
    return len(orphans) + len(unowned)
