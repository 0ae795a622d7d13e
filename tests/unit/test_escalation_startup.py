"""A broken policy or calendar file stops escalation at startup with the YAML path and the rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.escalation.config import EscalationSettings
from services.escalation.domain.policy import DEFAULT_POLICY, PolicyError
from services.escalation.main import create_app

pytestmark = pytest.mark.unit


def broken_policy(tmp_path: Path) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace("duration: 48", "duration: -48")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_create_app_refuses_a_policy_that_breaks_a_rule(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as err:
        create_app(EscalationSettings(policy_path=broken_policy(tmp_path)))
    assert any(p.startswith("clocks.internal_answer.duration") for p in err.value.problems)


def test_a_fractional_hour_clock_is_allowed_but_fractional_days_are_not(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "duration: 7\n    owner: merchant", "duration: 7.5\n    owner: merchant"), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        create_app(EscalationSettings(policy_path=path))
    assert "whole number of days" in str(err.value)


def test_the_service_process_exits_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "ESCALATION_POLICY_PATH": str(broken_policy(tmp_path))}
    done = subprocess.run([sys.executable, "-m", "services.escalation.main"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2
    assert "escalation cannot start" in done.stderr and "clocks.internal_answer.duration" in done.stderr
