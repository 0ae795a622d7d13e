"""The floor plan holds: every service has the same rooms, and each room imports only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "main.py").exists())

#: Libraries that do I/O (store, broker, network, files over the wire) or serve HTTP.
IO_LIBRARIES = {"pymongo", "mongoengine", "gridfs", "bson", "motor", "aiokafka", "faststream", "httpx",
                "requests", "aiosmtplib", "smtplib", "socket", "fastapi", "starlette", "uvicorn", "urllib3"}
#: Drivers: what talks to the store, the broker or another system. Use cases reach them through
#: the repository, the unit of work and the adapters.
DRIVERS = {"pymongo", "mongoengine", "gridfs", "bson", "motor", "aiokafka", "faststream", "httpx", "requests",
           "aiosmtplib", "smtplib"}
#: Rooms every service has (a module or a package of that name).
ROOMS = ("api", "service", "domain", "repository", "handlers", "config", "models", "main")


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py")) if folder.is_dir() else ([folder] if folder.exists() else [])


def _imports(path: Path) -> set[str]:
    """Every module name `path` imports, at any depth of the file (relative imports resolved)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
    return names


def _room(service: str, name: str) -> Path:
    folder = ROOT / "services" / service
    return folder / name if (folder / name).is_dir() else folder / f"{name}.py"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_rooms(service: str) -> None:
    missing = [room for room in ROOMS if not _room(service, room).exists()]
    assert not missing, f"services/{service} lacks {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_imports_no_io_library(service: str) -> None:
    found = {f"{path.relative_to(ROOT)}: {name}" for path in _modules(_room(service, "domain"))
             for name in _imports(path) if name.split(".")[0] in IO_LIBRARIES}
    assert not found, sorted(found)


@pytest.mark.parametrize("service", SERVICES)
def test_service_layer_imports_no_driver(service: str) -> None:
    found = {f"{path.relative_to(ROOT)}: {name}" for path in _modules(_room(service, "service"))
             for name in _imports(path) if name.split(".")[0] in DRIVERS}
    assert not found, sorted(found)


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = {f"services.{other}" for other in SERVICES if other != service}
    found = {f"{path.relative_to(ROOT)}: {name}" for path in _modules(ROOT / "services" / service)
             for name in _imports(path) if any(name == o or name.startswith(o + ".") for o in others)}
    assert not found, sorted(found)


def test_shared_imports_no_service() -> None:
    found = {f"{path.relative_to(ROOT)}: {name}" for path in _modules(ROOT / "shared")
             for name in _imports(path) if name == "services" or name.startswith("services.")}
    assert not found, sorted(found)


def test_no_module_is_too_long() -> None:
    """A module splits before 400 lines (300 in shared/), where a seam shows."""
    too_long = []
    for path in [*_modules(ROOT / "services"), *_modules(ROOT / "shared")]:
        limit = 300 if path.is_relative_to(ROOT / "shared") else 400
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long.append(f"{path.relative_to(ROOT)} ({lines} > {limit})")
    assert not too_long, too_long


def test_every_cross_service_enum_is_declared_once() -> None:
    """Words that cross a service boundary live in shared/contracts and are imported, never re-declared."""
    shared_words = {node.name for path in _modules(ROOT / "shared" / "contracts")
                    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(node, ast.ClassDef)
                    and any(getattr(b, "id", "") in ("StrEnum", "Enum") for b in node.bases)}
    again = {f"{path.relative_to(ROOT)}: {node.name}" for path in [*_modules(ROOT / "services"),
                                                                    *_modules(ROOT / "shared")]
             if not path.is_relative_to(ROOT / "shared" / "contracts")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.ClassDef) and node.name in shared_words}
    assert not again, sorted(again)
