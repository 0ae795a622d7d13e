"""File types decided by magic bytes, and display names made safe."""

import io
import json

import pytest
from PIL import Image

from services.evidence.domain.errors import FilenameError, FileTypeError
from services.evidence.domain.filetypes import TypeSniffer, detect_type, sanitise_filename

pytestmark = pytest.mark.unit


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "mime", "ext"), [
    ("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp"),
    ("GIF", "image/gif", "gif"), ("PDF", "application/pdf", "pdf")])
def test_images_and_pdf_are_recognised_by_content(fmt, mime, ext):
    kind = detect_type(data=_image(fmt))
    assert (kind.mime, kind.extension) == (mime, ext)


@pytest.mark.parametrize(("data", "mime"), [
    (b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"\x00" * 300, "audio/mpeg"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 300, "audio/mp4"),
    (b"#!AMR\n" + b"\x3c" * 300, "audio/amr")])
def test_call_recordings_are_recognised(data, mime):
    assert detect_type(data=data).mime == mime


def test_chat_exports_are_told_apart():
    chat = json.dumps([{"from": "客服", "text": "24 小时内补发"}], ensure_ascii=False)
    assert detect_type(data=chat.encode()).mime == "application/json"
    csv_text = "time,from,text\n2024-05-01 10:00,me,卡密无效\n2024-05-01 10:05,kf,稍等\n"
    assert detect_type(data=csv_text.encode()).mime == "text/csv"
    log = "[10:02] 我：卡密提示已使用\n[10:05] 客服：请提供截图\n"
    assert detect_type(data=log.encode()).extension == "txt"


def test_name_and_claimed_type_do_not_matter_only_content():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 300
    with pytest.raises(FileTypeError) as caught:
        detect_type(data=exe)
    assert caught.value.rule == "allowed_type"
    assert "application/x-msdownload" in caught.value.message
    assert "PNG" in caught.value.message and "允许的类型" in caught.value.message_zh


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(FileTypeError, match="neither"):
        detect_type(data="卡密无效".encode("gb18030") + b"\xff")


def test_type_is_decided_the_same_when_streamed_in_tiny_chunks():
    data = _image("PNG")
    sniffer = TypeSniffer()
    for start in range(0, len(data), 7):
        sniffer.update(data[start:start + 7])
    assert sniffer.finish().mime == "image/png"


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\Desktop\\支付截图.png", "支付截图.png"),
    ("order\x00\x1b[31m.png", "order[31m.png"),
    ("invoice\u202egnp.exe", "invoicegnp.exe"),
    ("  chat:log?.txt  ", "chat_log_.txt")])
def test_filenames_lose_directories_and_control_characters(raw, clean):
    assert sanitise_filename(name=raw) == clean


@pytest.mark.parametrize("raw", ["..", "../..", "/", "\x00\x01", "  . "])
def test_names_that_are_only_path_or_controls_are_refused(raw):
    with pytest.raises(FilenameError) as caught:
        sanitise_filename(name=raw)
    assert caught.value.field == "filename"


def test_strict_mode_refuses_traversal_instead_of_stripping():
    with pytest.raises(FilenameError, match="'..'"):
        sanitise_filename(name="../secret.png", strict=True)
    assert sanitise_filename(name="shot.png", strict=True) == "shot.png"


def test_long_names_are_cut_but_keep_their_extension():
    name = sanitise_filename(name="截" * 300 + ".png")
    assert name.endswith(".png") and len(name.encode()) <= 200


def test_json_export_split_across_chunks_with_a_bom_is_json():
    data = "\ufeff".encode() + json.dumps({"messages": ["卡密无效"] * 2000}).encode()
    sniffer = TypeSniffer()
    for start in range(0, len(data), 1000):
        sniffer.update(data[start:start + 1000])
    assert sniffer.finish().mime == "application/json"
