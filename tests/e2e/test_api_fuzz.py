"""Hostile input: schemathesis fuzzes every service's OpenAPI document: no 5xx, no response that
breaks the documented schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.runtime.supervisor import ServiceProcess
from tests.support.intake_calls import body, token

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).with_name("st")


@pytest.mark.parametrize("name", ["intake", "evidence", "escalation", "notify"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    suite: dict[str, ServiceProcess], name: str, tmp_path: Path
) -> None:
    agent = token("agent-fuzz", "agent", platform=body()["platform"])["Authorization"]
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{suite[name].url}/openapi.json",
         "--checks", "not_a_server_error,response_schema_conformance",
         "--header", f"Authorization: {agent}", "--max-examples", "15",
         "--phases", "examples,fuzzing", "--request-timeout", "10", "--seed", "20261123"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "generated" in summary
