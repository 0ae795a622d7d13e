"""Intake refuses settings under which re-driving a complaint would find nothing to send."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.config import IntakeSettings

pytestmark = pytest.mark.unit


def test_outbox_retention_shorter_than_the_reconcile_horizon_is_refused_naming_both() -> None:
    with pytest.raises(ValidationError) as refused:
        IntakeSettings(outbox_retention_h=48, reconcile_horizon_h=72)
    assert "outbox_retention_h (48.0) must be above reconcile_horizon_h (72.0)" in str(refused.value)

