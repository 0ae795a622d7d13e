"""Evidence content in GridFS: streamed in while it is hashed and typed, streamed back out."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from bson import ObjectId
from gridfs import GridFSBucket, NoFile
from gridfs.synchronous.grid_file import GridIn, GridOut

from services.evidence.domain.hashing import CHUNK_BYTES
from services.evidence.domain.upload import ScannedFile, UploadScanner
from shared.store import database


def _bucket() -> GridFSBucket:
    return GridFSBucket(database())


@dataclass
class PendingUpload:
    """Content written chunk by chunk but not yet committed: keep it or discard it."""

    scanned: ScannedFile
    _grid_in: GridIn

    def keep(self) -> str:
        """Write the file document; the content is now stored under the returned id."""
        self._grid_in.close()
        return str(self._grid_in._id)

    def discard(self) -> None:
        """Remove every chunk written so far: nothing is left behind."""
        self._grid_in.abort()


def upload(*, source: BinaryIO, stored_name: str, max_bytes: int,
           budget_left: int) -> PendingUpload:
    """Stream `source` into GridFS while scanning it; any refusal removes the written chunks."""
    scanner = UploadScanner(max_bytes=max_bytes, budget_left=budget_left)
    grid_in = _bucket().open_upload_stream(stored_name)
    try:
        while chunk := source.read(CHUNK_BYTES):
            scanner.update(chunk)
            grid_in.write(chunk)
        scanned = scanner.finish()
    except BaseException:
        grid_in.abort()
        raise
    return PendingUpload(scanned=scanned, _grid_in=grid_in)


def delete(*, gridfs_id: str) -> None:
    """Delete stored content (used when the item that would own it was not written)."""
    try:
        _bucket().delete(ObjectId(gridfs_id))
    except NoFile:
        pass


def open_content(*, gridfs_id: str) -> GridOut | None:
    """A readable, seekable stream of stored content, or None when it is gone."""
    try:
        return _bucket().open_download_stream(ObjectId(gridfs_id))
    except NoFile:
        return None


def iter_content(*, stream: GridOut) -> Iterator[bytes]:
    """Yield stored content chunk by chunk and close the stream."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk
    finally:
        stream.close()


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
