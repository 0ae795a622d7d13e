"""SHA-256 and size computed while a file streams, with the per-file and per-complaint limits."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

from .errors import ComplaintBudgetError, EmptyFileError, FileTooLargeError

MB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 20 * MB
DEFAULT_MAX_COMPLAINT_BYTES = 100 * MB
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileDigest:
    """What the hasher saw: hex SHA-256 and size in bytes."""

    sha256: str
    size: int


def _mb(size: int) -> str:
    value = size / MB
    return f"{value:.0f} MB" if value.is_integer() else f"{value:.2f} MB"


def too_large(*, max_bytes: int) -> FileTooLargeError:
    """The refusal of a file over the per-file limit."""
    return FileTooLargeError(field="file", rule="max_file_size",
                             message=f"larger than the {_mb(max_bytes)} limit per file",
                             message_zh=f"文件超过每个文件 {_mb(max_bytes)} 的上限")


class StreamingHasher:
    """Hashes chunks as they arrive and stops at the first byte past a limit."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 budget_left: int | None = None) -> None:
        self._sha = hashlib.sha256()
        self._size = 0
        self._max = max_bytes
        self._budget_left = budget_left

    @property
    def size(self) -> int:
        """Bytes seen so far."""
        return self._size

    def update(self, chunk: bytes) -> None:
        """Add a chunk; raise FileTooLargeError or ComplaintBudgetError once a limit is passed."""
        self._size += len(chunk)
        if self._size > self._max:
            raise too_large(max_bytes=self._max)
        if self._budget_left is not None and self._size > self._budget_left:
            raise ComplaintBudgetError(
                field="file", rule="max_complaint_size",
                message=f"only {_mb(self._budget_left)} of this complaint's evidence budget "
                        "is left",
                message_zh=f"本投诉的证据总量只剩 {_mb(self._budget_left)}")
        self._sha.update(chunk)

    def finish(self) -> FileDigest:
        """Return the digest; raise EmptyFileError if no byte arrived."""
        if self._size == 0:
            raise EmptyFileError(field="file", rule="non_empty", message="the file is empty",
                                 message_zh="文件为空")
        return FileDigest(sha256=self._sha.hexdigest(), size=self._size)


def hash_stream(*, stream: BinaryIO, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> FileDigest:
    """Hash a readable binary stream chunk by chunk, never holding it whole."""
    hasher = StreamingHasher(max_bytes=max_bytes)
    while chunk := stream.read(CHUNK_BYTES):
        hasher.update(chunk)
    return hasher.finish()


def iter_content(*, stream: IO[bytes]) -> Iterator[bytes]:
    """Yield a stream chunk by chunk and close it."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk
    finally:
        stream.close()


def budget_left(*, used_bytes: int, max_bytes: int = DEFAULT_MAX_COMPLAINT_BYTES) -> int:
    """Bytes a complaint may still take; pass it to StreamingHasher(budget_left=...)."""
    return max(0, max_bytes - used_bytes)


def check_complaint_budget(*, used_bytes: int, incoming_bytes: int,
                           max_bytes: int = DEFAULT_MAX_COMPLAINT_BYTES) -> None:
    """Raise ComplaintBudgetError if the incoming file would pass the complaint's budget."""
    if used_bytes + incoming_bytes > max_bytes:
        left = budget_left(used_bytes=used_bytes, max_bytes=max_bytes)
        raise ComplaintBudgetError(
            field="file", rule="max_complaint_size",
            message=f"the complaint's evidence may total {_mb(max_bytes)}; "
                    f"{_mb(left)} is left",
            message_zh=f"每个投诉的证据总量上限为 {_mb(max_bytes)}，还剩 {_mb(left)}")
