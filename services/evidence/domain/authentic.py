"""Authenticity flags from image metadata (capture time, editing software); never refusals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

_SOFTWARE, _DATETIME, _EXIF_IFD = 0x0131, 0x0132, 0x8769
_ORIGINAL, _OFFSET_ORIGINAL = 0x9003, 0x9011
EDITORS = ("photoshop", "gimp", "meitu", "美图", "醒图", "lightroom", "snapseed", "picsart",
           "pixelmator", "affinity", "paint.net", "canva", "fotor", "美颜", "polarr", "vsco")
# Without an offset tag the capture clock could be in any zone; reading it at UTC+14, the
# earliest instant it can mean, flags only what is late in every zone.
_EARLIEST_ZONE = timezone(timedelta(hours=14))
_EDIT_GAP = timedelta(minutes=5)
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<h>[01]\d):(?P<m>[0-5]\d)")


class AuthenticityFlag(BaseModel):
    """Something an agent should look at before trusting the item."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    message_zh: str


def _parse_exif_time(raw: object, offset: object) -> datetime | None:
    try:
        naive = datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _EARLIEST_ZONE
    match = _OFFSET.match(str(offset or ""))
    if match:
        sign = -1 if match["sign"] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(match["h"]), minutes=int(match["m"])))
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _utf8(text: str) -> str:
    # Pillow reads EXIF strings as Latin-1, but Chinese editors write UTF-8 bytes there.
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _software_texts(img: Image.Image) -> list[str]:
    exif = img.getexif()
    texts = [_utf8(str(exif.get(_SOFTWARE, "")))]
    # PNG text chunks and XMP packets name the editor too.
    texts += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
              for k, v in img.info.items() if isinstance(k, str) and k.lower() in ("software", "xmp", "comment")]
    return [t for t in texts if t]


def check_authenticity(*, stream: BinaryIO, mime: str,
                       filed_at: datetime) -> list[AuthenticityFlag]:
    """Flag an image captured after the complaint was filed or touched by an editor."""
    if not mime.startswith("image/"):
        return []
    try:
        with Image.open(stream) as img:
            exif = img.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            captured = _parse_exif_time(sub.get(_ORIGINAL), sub.get(_OFFSET_ORIGINAL))
            modified = _parse_exif_time(exif.get(_DATETIME), sub.get(_OFFSET_ORIGINAL))
            software = _software_texts(img)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        return [AuthenticityFlag(code="unreadable_image",
                                 message="the image could not be read to check its metadata",
                                 message_zh="无法读取图片元数据")]
    flags = []
    taken = captured or modified
    if taken is not None and taken > filed_at:
        flags.append(AuthenticityFlag(
            code="captured_after_filing",
            message=f"captured at {taken:%Y-%m-%d %H:%M} UTC, after the complaint was filed "
                    f"at {filed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            message_zh="图片拍摄时间晚于投诉提交时间"))
    if captured and modified and modified - captured > _EDIT_GAP:
        flags.append(AuthenticityFlag(
            code="modified_after_capture",
            message="the image was saved again after it was captured",
            message_zh="图片在拍摄后被再次保存过"))
    editors = sorted({e for e in EDITORS for text in software if e in text.lower()})
    if editors:
        flags.append(AuthenticityFlag(
            code="editing_software",
            message=f"metadata names editing software: {', '.join(editors)}",
            message_zh=f"元数据显示使用过修图软件：{'、'.join(editors)}"))
    return flags
