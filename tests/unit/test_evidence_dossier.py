"""The structured complaint text and the ZIP dossier for escalation."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from services.evidence.domain.dossier import DossierFile, render_all, write_dossier
from services.evidence.domain.dossier_text import render_demand
from services.evidence.domain.errors import EvidenceRuleError

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[1] / "data" / "evidence"
CASE = json.loads((DATA / "dossier_complaint.json").read_text(encoding="utf-8"))


class _ReadOnly(io.RawIOBase):
    """A source that refuses whole reads, as a large stored file should never be slurped."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert 0 < size <= 1024 * 1024, "the dossier must copy in chunks"
        return self._data.read(size)


class _Unseekable(io.RawIOBase):
    """An HTTP response body: write-only, no seeking."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        return len(data)


def test_complaint_text_has_the_three_parts_in_both_languages():
    texts = render_all(complaint=CASE["complaint"], evidence=CASE["evidence"],
                       demand=CASE["demand"])
    for lang in ("zh-CN", "en"):
        assert texts[lang] == (DATA / f"complaint.{lang}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("demand", "zh", "en"), [
    ({"type": "reissue", "count": 2, "item": {"zh-CN": "卡密", "en": "card keys"}},
     "请补发 2 个有效的卡密。", "Reissue 2 valid card keys."),
    ({"type": "refund", "amount_minor": 5000, "currency": "JPY"},
     "请退款 5000 JPY。", "Refund 5000 JPY.")])
def test_demands_are_concrete(demand, zh, en):
    assert render_demand(demand=demand, lang="zh-CN") == zh
    assert render_demand(demand=demand, lang="en") == en


@pytest.mark.parametrize("demand", [{"type": "custom", "text": "给我一个说法"},
                                    {"type": "custom", "text": "I want an explanation"},
                                    {"type": "apology"}])
def test_vague_or_unknown_demands_are_refused(demand):
    with pytest.raises(EvidenceRuleError) as caught:
        render_demand(demand=demand, lang="en")
    assert caught.value.field == "demand"


def _files(payloads: list[bytes], recorded: list[str] | None = None) -> list[DossierFile]:
    recorded = recorded or [hashlib.sha256(p).hexdigest() for p in payloads]
    return [DossierFile(number=n, kind="payment_proof", name=f"支付截图{n}.png", extension="png",
                        sha256=recorded[n - 1], stream=_ReadOnly(p))
            for n, p in enumerate(payloads, start=1)]


def test_zip_holds_manifest_files_and_texts_and_streams_to_an_unseekable_target():
    payloads = [b"\x89PNG" + bytes(3 * 1024 * 1024), b"\x89PNG second"]
    texts = render_all(complaint=CASE["complaint"], evidence=CASE["evidence"],
                       demand=CASE["demand"])
    target = _Unseekable()
    write_dossier(target=target, manifest={"complaint": {"ticket": "C-1"}},
                  files=_files(payloads), texts=texts)
    with zipfile.ZipFile(io.BytesIO(bytes(target.buffer))) as archive:
        assert set(archive.namelist()) == {
            "manifest.json", "complaint.zh-CN.txt", "complaint.en.txt",
            "evidence/01-payment_proof.png", "evidence/02-payment_proof.png"}
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("evidence/01-payment_proof.png") == payloads[0]
        assert archive.read("complaint.zh-CN.txt").decode() == texts["zh-CN"]
    assert manifest["complaint"] == {"ticket": "C-1"}
    assert [(f["label_zh"], f["name"], f["intact"]) for f in manifest["files"]] == [
        ("证据1", "支付截图1.png", True), ("证据2", "支付截图2.png", True)]


def test_a_file_that_no_longer_matches_its_recorded_hash_is_marked_in_the_manifest():
    buffer = io.BytesIO()
    manifest = write_dossier(target=buffer, manifest={}, texts={},
                             files=_files([b"tampered bytes"], recorded=["0" * 64]))
    assert manifest["files"][0]["intact"] is False
    assert manifest["files"][0]["sha256"] == hashlib.sha256(b"tampered bytes").hexdigest()


def test_a_card_key_in_the_manifest_is_refused():
    with pytest.raises(ValueError, match=r"manifest.evidence\[0\].card_key"):
        write_dossier(target=io.BytesIO(), manifest={"evidence": [{"card_key": "X7KD"}]},
                      files=[], texts={})


REMEDIES = json.loads((Path(__file__).resolve().parents[1] / "data" / "intake" / "remedies.json").read_text("utf-8"))


@pytest.mark.parametrize(("case", "zh", "en"), [
    ("seed_003", "请退款 29.00 CNY，并赔偿延误损失 10.00 CNY。",
     "Refund 29.00 CNY and pay 10.00 CNY compensation for the delay."),
    ("fraud_triple_99", "请退款 99.00 CNY，并赔偿（退一赔三，消法第55条） 500.00 CNY。",
     "and pay 500.00 CNY compensation for fraud"),
])
def test_a_demand_in_two_parts_reads_as_one_demand_in_the_dossier(case: str, zh: str, en: str) -> None:
    """Seed 003's refund and compensation, and 退一赔三, as intake stores them, in the complaint text."""
    from services.evidence.service.export import demand_for_text

    stored = REMEDIES[case]
    order = {"amount": {"amount_minor": stored["order_amount"], "currency": "CNY"}, "item": "点卡"}
    demand = demand_for_text(demand=stored["stored"], order=order)
    assert render_demand(demand=demand, lang="zh-CN") == zh
    assert en in render_demand(demand=demand, lang="en")
