"""Allowed file types, decided from the content's magic bytes, and safe display names."""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from dataclasses import dataclass

import filetype
from filetype.types import archive, audio, image

from .errors import FilenameError, FileTypeError

HEAD_BYTES = 8192
_BINARY = {
    image.Png: ("image/png", "png"), image.Apng: ("image/png", "png"),
    image.Jpeg: ("image/jpeg", "jpg"), image.Webp: ("image/webp", "webp"),
    image.Gif: ("image/gif", "gif"), archive.Pdf: ("application/pdf", "pdf"),
    audio.Mp3: ("audio/mpeg", "mp3"), audio.M4a: ("audio/mp4", "m4a"),
    audio.Amr: ("audio/amr", "amr"),
}
_MATCHERS = [cls() for cls in _BINARY]
ALLOWED = "PNG, JPEG, WEBP, GIF, PDF, UTF-8 text/CSV/JSON, MP3, M4A, AMR"
_ALLOWED_ZH = "PNG、JPEG、WEBP、GIF、PDF、UTF-8 文本/CSV/JSON、MP3、M4A、AMR"
# Text may hold tabs, newlines and form feeds; any other control byte means binary.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FileType:
    """The decided type: what we serve the file as and the extension we store it under."""

    mime: str
    extension: str


def _refuse(*, why: str, why_zh: str) -> FileTypeError:
    return FileTypeError(field="file", rule="allowed_type",
                         message=f"{why}; allowed: {ALLOWED}",
                         message_zh=f"{why_zh}；允许的类型：{_ALLOWED_ZH}")


class TypeSniffer:
    """Decides the type while the file streams past: magic bytes first, else UTF-8 text."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text: list[str] = []
        self._head_text = ""
        self._json: bool | None = None
        self._binary: FileType | None = None
        self._bad_text = False
        self._tried = 0

    def update(self, chunk: bytes) -> None:
        """Feed the next chunk."""
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._binary is not None or self._bad_text:
            return
        # The deepest magic we need (M4A's ftyp box) lies within the first 262 bytes.
        if len(self._head) >= 262 and self._tried < len(self._head) and self._match():
            return
        try:
            piece = self._decoder.decode(chunk)
        except UnicodeDecodeError:
            self._bad_text = True
            return
        if _CONTROL.search(piece):
            self._bad_text = True
            return
        if len(self._head_text) < HEAD_BYTES:
            self._head_text += piece[:HEAD_BYTES]
        if self._json is None and self._head_text.lstrip("\ufeff \t\r\n"):
            self._json = self._head_text.lstrip("\ufeff \t\r\n")[0] in "{["
        # Kept whole only to parse JSON; bounded by the per-file size limit upstream.
        if self._json is not False:
            self._text.append(piece)

    def _match(self) -> FileType | None:
        self._tried = len(self._head)
        kind = filetype.match(bytes(self._head), matchers=_MATCHERS)
        if kind is not None:
            self._binary = FileType(*_BINARY[type(kind)])
        return self._binary

    def finish(self) -> FileType:
        """Return the decided type or raise FileTypeError naming the rule."""
        if self._binary is not None or self._match() is not None:
            return self._binary  # type: ignore[return-value]
        if not self._bad_text:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._bad_text = True
        if self._bad_text:
            seen = filetype.guess(bytes(self._head))
            if seen is not None:
                raise _refuse(why=f"content is {seen.mime}, which is not allowed",
                              why_zh=f"文件内容是 {seen.mime}，不在允许范围内")
            raise _refuse(why="content is neither a known file type nor UTF-8 text",
                          why_zh="文件内容既不是允许的文件类型，也不是 UTF-8 文本")
        if self._json:
            try:
                json.loads("".join(self._text).removeprefix("\ufeff"))
            except ValueError:
                pass  # e.g. a chat log whose lines start with "[10:02]": plain text, not JSON
            else:
                return FileType("application/json", "json")
        return _csv_or_plain(self._head_text.removeprefix("\ufeff"))


def _csv_or_plain(text: str) -> FileType:
    lines = [line for line in text.splitlines()[:6] if line.strip()]
    commas = {line.count(",") for line in lines}
    if len(lines) >= 2 and len(commas) == 1 and commas != {0}:
        return FileType("text/csv", "csv")
    return FileType("text/plain", "txt")


def detect_type(*, data: bytes) -> FileType:
    """Decide the type of content held whole in memory."""
    sniffer = TypeSniffer()
    sniffer.update(data)
    return sniffer.finish()


_RESERVED = re.compile(r'[<>:"|?*]')
_MAX_NAME_BYTES = 200


def sanitise_filename(*, name: str, strict: bool = False) -> str:
    """Keep only a safe base name for display; strict=True refuses traversal and controls."""
    text = unicodedata.normalize("NFC", name)
    has_controls = any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)
    parts = text.replace("\\", "/").split("/")
    if strict and (has_controls or ".." in parts):
        raise FilenameError(field="filename", rule="no_traversal_or_control",
                            message="must not contain '..' path parts or control characters",
                            message_zh="文件名不能包含“..”路径或控制字符")
    base = "".join(ch for ch in parts[-1] if unicodedata.category(ch) not in ("Cc", "Cf"))
    base = _RESERVED.sub("_", base).strip().strip(".").strip()
    if not base:
        raise FilenameError(field="filename", rule="non_empty_name",
                            message="nothing is left once directories, '..' and control "
                                    "characters are removed",
                            message_zh="去掉目录、“..”和控制字符后文件名为空")
    while len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[:-1]}{dot}{ext}" if dot and len(ext) <= 10 and stem else base[:-1]
    return base
