"""Hostile input: schemathesis fuzzes every service's OpenAPI document: no 5xx, no response that
breaks the documented schema.

The default run fuzzes with a fixed seed and a few examples per operation, the same inputs each time
(a failure there is a regression, repeatable at once); the long run (`-m long`) draws a fresh seed
and many more examples, printed so that `FUZZ_SEED=N` repeats what it found."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from shared.runtime.supervisor import ServiceProcess
from tests.support.intake_calls import body, token

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).with_name("st")
FIXED_SEED = 20261123
RUNS = [pytest.param(FIXED_SEED, 15, id="fixed-seed"),
        pytest.param(None, 100, id="fresh-seed", marks=pytest.mark.long)]


@pytest.mark.parametrize(("seed", "examples"), RUNS)
@pytest.mark.parametrize("name", ["intake", "evidence", "escalation", "notify"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    suite: dict[str, ServiceProcess], name: str, seed: int | None, examples: int, tmp_path: Path
) -> None:
    seed = seed or int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"schemathesis seed {seed} ({examples} examples per operation): FUZZ_SEED={seed} repeats it")
    agent = token("agent-fuzz", "agent", platform=body()["platform"])["Authorization"]
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{suite[name].url}/openapi.json",
         "--checks", "not_a_server_error,response_schema_conformance",
         "--header", f"Authorization: {agent}", "--max-examples", str(examples),
         "--phases", "examples,fuzzing", "--request-timeout", "10", "--seed", str(seed)],
        capture_output=True, text=True, timeout=1800, cwd=tmp_path,
    )
    summary = run.stdout[-4000:]
    assert run.returncode == 0, f"seed {seed} (FUZZ_SEED={seed} repeats it)\n{summary}"
    assert " passed" in summary and "generated" in summary
