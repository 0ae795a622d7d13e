"""Authenticity: image metadata flags late capture times and editing software, never refuses."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from services.evidence.domain.authentic import check_authenticity

pytestmark = pytest.mark.unit

FILED_AT = datetime(2024, 5, 2, 0, 0, tzinfo=UTC)


def _photo(*, original: str | None = None, modified: str | None = None,
           software: str | None = None, offset: str | None = None, fmt: str = "JPEG") -> io.BytesIO:
    exif = Image.Exif()
    if software:
        exif[0x0131] = software.encode("utf-8")
    if modified:
        exif[0x0132] = modified
    sub = exif.get_ifd(0x8769)
    if original:
        sub[0x9003] = original
    if offset:
        sub[0x9011] = offset
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, fmt, exif=exif)
    buffer.seek(0)
    return buffer


def _codes(stream: io.BytesIO, mime: str = "image/jpeg") -> list[str]:
    return [f.code for f in check_authenticity(stream=stream, mime=mime, filed_at=FILED_AT)]


def test_plain_screenshot_without_metadata_is_not_flagged():
    assert _codes(_photo(fmt="PNG"), "image/png") == []


def test_capture_time_before_filing_is_not_flagged():
    assert _codes(_photo(original="2024:05:01 09:31:00", offset="+08:00")) == []


def test_capture_after_the_complaint_was_filed_is_flagged():
    flags = check_authenticity(stream=_photo(original="2024:05:03 10:00:00", offset="+08:00"),
                               mime="image/jpeg", filed_at=FILED_AT)
    assert [f.code for f in flags] == ["captured_after_filing"]
    assert "2024-05-03 02:00 UTC" in flags[0].message
    assert "晚于投诉提交时间" in flags[0].message_zh


def test_without_an_offset_only_times_late_in_every_zone_are_flagged():
    # 09:00 local without a zone may be 23:00 UTC the day before filing: not provably late.
    assert _codes(_photo(original="2024:05:02 09:00:00")) == []
    assert _codes(_photo(original="2024:05:02 15:00:00")) == ["captured_after_filing"]


@pytest.mark.parametrize("software", ["Adobe Photoshop 25.0 (Windows)", "GIMP 2.10.36",
                                      "美图秀秀", "Meitu XiuXiu"])
def test_editing_software_is_flagged(software):
    flags = check_authenticity(stream=_photo(software=software), mime="image/jpeg",
                               filed_at=FILED_AT)
    assert [f.code for f in flags] == ["editing_software"]
    assert "修图软件" in flags[0].message_zh


def test_camera_firmware_is_not_mistaken_for_an_editor():
    assert _codes(_photo(software="HDR+ 1.0.540104767zd", original="2024:05:01 09:31:00")) == []


def test_resaving_long_after_capture_is_flagged():
    codes = _codes(_photo(original="2024:05:01 09:31:00", modified="2024:05:01 20:00:00"))
    assert codes == ["modified_after_capture"]


def test_non_images_and_unreadable_images_do_not_raise():
    assert check_authenticity(stream=io.BytesIO(b"%PDF-1.4"), mime="application/pdf",
                              filed_at=FILED_AT) == []
    assert _codes(io.BytesIO(b"\xff\xd8\xff garbage"), "image/jpeg") == ["unreadable_image"]


def test_editor_named_in_a_png_text_chunk_is_flagged():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", "Adobe Photoshop 2024")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    buffer.seek(0)
    assert _codes(buffer, "image/png") == ["editing_software"]
