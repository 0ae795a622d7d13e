"""`complaints sample`: a complaint body a newcomer can file now, inside every clock."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from services.intake.domain.schemas import NewComplaint
from shared.runtime.cli import app

pytestmark = pytest.mark.unit


def printed_sample(*args: str) -> dict:
    result = CliRunner().invoke(app, ["sample", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_sample_is_paid_and_hit_within_the_last_hour_in_utc():
    body = printed_sample()
    now = datetime.now(UTC)
    paid_text, occurred_text = body["order"]["paid_at"], body["description"]["occurred_at"]
    assert paid_text.endswith("Z") and occurred_text.endswith("Z")
    paid, occurred = datetime.fromisoformat(paid_text), datetime.fromisoformat(occurred_text)
    assert now - timedelta(hours=1) < paid <= occurred <= now


def test_intake_accepts_the_sample_as_it_is_printed():
    body = printed_sample("--kind", "invalid-card-key")
    complaint = NewComplaint.model_validate(body)
    assert complaint.category == "invalid-card-key"
    assert complaint.demand.amount == complaint.order.amount == 10000


def test_each_sample_has_an_order_number_of_its_own():
    numbers = {printed_sample()["order"]["number"] for _ in range(5)}
    assert len(numbers) == 5


def test_an_unknown_kind_is_refused_naming_the_kinds_there_are():
    result = CliRunner().invoke(app, ["sample", "--kind", "lost-parcel"])
    assert result.exit_code == 2
    assert "invalid-card-key" in result.output
