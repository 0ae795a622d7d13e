"""The escalation dossier: a ZIP of manifest.json, the evidence files and the complaint texts."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from .dossier_text import render_all
from .hashing import CHUNK_BYTES

__all__ = ["DossierFile", "render_all", "write_dossier"]
_SECRET_KEYS = {"card_key", "card_keys", "password", "card_number"}


@dataclass(frozen=True)
class DossierFile:
    """One evidence file to pack, read from `stream` chunk by chunk."""

    number: int
    kind: str
    name: str
    extension: str
    sha256: str
    stream: BinaryIO


def _find_secret(value: Any, path: str = "manifest") -> str | None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if str(key).lower() in _SECRET_KEYS:
                return f"{path}.{key}"
            found = _find_secret(inner, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found = _find_secret(inner, f"{path}[{index}]")
            if found:
                return found
    return None


def _copy(source: BinaryIO, target: IO[bytes]) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    while chunk := source.read(CHUNK_BYTES):
        sha.update(chunk)
        size += len(chunk)
        target.write(chunk)
    return sha.hexdigest(), size


def write_dossier(*, target: IO[bytes], manifest: Mapping[str, Any],
                  files: Iterable[DossierFile], texts: Mapping[str, str]) -> dict[str, Any]:
    """Stream the ZIP into `target` (seekable or not) and return the manifest written.

    Each file is hashed while it is copied, so the manifest says whether the packed bytes
    still match the hash recorded at upload.
    """
    secret = _find_secret(manifest)
    if secret:
        raise ValueError(f"{secret}: secrets such as card keys never go into a dossier")
    packed = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            path = f"evidence/{item.number:02d}-{item.kind}.{item.extension}"
            with archive.open(path, "w") as entry:
                digest, size = _copy(item.stream, entry)
            packed.append({"number": item.number, "label_zh": f"证据{item.number}",
                           "path": path, "name": item.name, "kind": item.kind, "size": size,
                           "sha256": digest, "sha256_recorded": item.sha256,
                           "intact": digest == item.sha256})
        text_paths = {}
        for lang, text in texts.items():
            text_paths[lang] = f"complaint.{lang}.txt"
            archive.writestr(text_paths[lang], text.encode("utf-8"))
        final = {**manifest, "files": packed, "texts": text_paths}
        archive.writestr("manifest.json", json.dumps(final, ensure_ascii=False, indent=2,
                                                     default=str).encode("utf-8"))
    return final
