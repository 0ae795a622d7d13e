"""Hashing while streaming, with the per-file and per-complaint limits."""

import hashlib
import io

import pytest

from services.evidence.domain.errors import ComplaintBudgetError, EmptyFileError, FileTooLargeError, FileTypeError
from services.evidence.domain.hashing import MB, StreamingHasher, budget_left, check_complaint_budget, hash_stream
from services.evidence.domain.upload import UploadScanner, scan_stream

pytestmark = pytest.mark.unit


def test_hash_and_size_match_the_whole_content():
    data = b"\x89PNG" + bytes(range(256)) * 1000
    digest = hash_stream(stream=io.BytesIO(data))
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.size == len(data)


def test_default_limit_is_20_mb_and_refuses_at_the_first_byte_past_it():
    hasher = StreamingHasher()
    hasher.update(b"\x00" * (20 * MB))
    with pytest.raises(FileTooLargeError) as caught:
        hasher.update(b"\x00")
    assert caught.value.rule == "max_file_size"
    assert "20 MB" in caught.value.message and "20 MB" in caught.value.message_zh


def test_limit_is_configurable():
    with pytest.raises(FileTooLargeError, match="1 MB"):
        hash_stream(stream=io.BytesIO(b"x" * (MB + 1)), max_bytes=MB)


def test_empty_file_is_refused():
    with pytest.raises(EmptyFileError) as caught:
        hash_stream(stream=io.BytesIO(b""))
    assert caught.value.message_zh == "文件为空"


def test_complaint_budget_of_100_mb_by_default():
    check_complaint_budget(used_bytes=90 * MB, incoming_bytes=10 * MB)
    with pytest.raises(ComplaintBudgetError) as caught:
        check_complaint_budget(used_bytes=90 * MB, incoming_bytes=10 * MB + 1)
    assert "100 MB" in caught.value.message and "10 MB is left" in caught.value.message


def test_budget_is_enforced_while_streaming():
    hasher = StreamingHasher(budget_left=budget_left(used_bytes=99 * MB))
    hasher.update(b"a" * MB)
    with pytest.raises(ComplaintBudgetError):
        hasher.update(b"a")


def test_upload_scanner_gives_hash_size_and_type_in_one_pass():
    data = "time,from,text\n10:00,me,卡密无效\n10:05,kf,稍等\n".encode()
    scanned = scan_stream(stream=io.BytesIO(data))
    assert (scanned.mime, scanned.extension, scanned.size) == ("text/csv", "csv", len(data))
    assert scanned.sha256 == hashlib.sha256(data).hexdigest()


def test_upload_scanner_refuses_wrong_content_after_hashing():
    scanner = UploadScanner()
    scanner.update(b"PK\x03\x04" + b"\x00" * 400)
    with pytest.raises(FileTypeError, match="application/zip"):
        scanner.finish()
