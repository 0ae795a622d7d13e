"""One pass over an upload: hash, size limits and type decision fed from the same chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from .filetypes import FileType, TypeSniffer
from .hashing import CHUNK_BYTES, DEFAULT_MAX_FILE_BYTES, StreamingHasher


@dataclass(frozen=True)
class ScannedFile:
    """Everything decided about an upload's content."""

    sha256: str
    size: int
    mime: str
    extension: str


class UploadScanner:
    """Feed each chunk before (or while) writing it; `finish()` raises if the upload is refused."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 budget_left: int | None = None) -> None:
        self._hasher = StreamingHasher(max_bytes=max_bytes, budget_left=budget_left)
        self._sniffer = TypeSniffer()

    def update(self, chunk: bytes) -> None:
        """Feed a chunk; raises FileTooLargeError or ComplaintBudgetError at once."""
        self._hasher.update(chunk)
        self._sniffer.update(chunk)

    def finish(self) -> ScannedFile:
        """Return the result or raise EmptyFileError / FileTypeError."""
        digest = self._hasher.finish()
        kind: FileType = self._sniffer.finish()
        return ScannedFile(sha256=digest.sha256, size=digest.size, mime=kind.mime,
                           extension=kind.extension)


def scan_stream(*, stream: BinaryIO, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                budget_left: int | None = None) -> ScannedFile:
    """Scan a readable binary stream chunk by chunk."""
    scanner = UploadScanner(max_bytes=max_bytes, budget_left=budget_left)
    while chunk := stream.read(CHUNK_BYTES):
        scanner.update(chunk)
    return scanner.finish()
