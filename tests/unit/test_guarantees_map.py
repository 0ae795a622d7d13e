"""docs/guarantees.md names a test for every README guarantee: each named test must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_test_the_guarantees_table_names_exists(repo_root: Path) -> None:
    named = NAMED.findall((repo_root / "docs" / "guarantees.md").read_text("utf-8"))
    assert len(named) >= 60
    missing = []
    for path, name in named:
        file = repo_root / path
        tree = ast.parse(file.read_text("utf-8")) if file.exists() else ast.Module(body=[], type_ignores=[])
        if name not in {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}:
            missing.append(f"{path}::{name}")
    assert not missing, missing
