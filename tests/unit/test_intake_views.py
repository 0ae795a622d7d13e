"""What a partner reads of a complaint: the buyer's secrets masked, our own identifiers whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.api.views import complaint_view
from services.intake.models import Complaint
from shared.auth import Principal, Role

pytestmark = pytest.mark.unit

# A trace id and a complaint id whose hex holds a digit run that passes for a card number (seen in CI).
TRACE_ID = "08498f1c51405f1a9a66215387132852"
COMPLAINT_ID = "7a512698514949588015e33701dffb1b"


def test_a_partner_sees_the_card_number_masked_and_the_trace_id_whole() -> None:
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    complaint = Complaint(
        id=COMPLAINT_ID, ticket="CP-20261123-000001", status="filed", category="unauthorized-charge",
        priority="urgent",
        platform="kameng-example", merchant={"id": "m-1", "name": "星辰卡铺"},
        complainant={"id": "u-1", "display_name": "小王", "contact": {"phone": "13812345678"}},
        order={"number": "KM-1"}, description={"what_happened": "卡号 4111111111111111 被盗刷"},
        demand={"type": "refund"}, filed_at=now, updated_at=now, trace_id=TRACE_ID)
    timeline = [{"at": now, "service": "intake", "step": "statement_added",
                 "detail": {"text": "卡号 4111111111111111"}}]
    view = complaint_view(complaint, principal=Principal(subject="p-1", role=Role.PARTNER, platform="kameng-example"),
                          timeline=timeline)
    assert "4111111111111111" not in view["description"]["what_happened"]
    assert "4111111111111111" not in view["timeline"][0]["detail"]["text"]
    assert view["complainant"]["contact"]["phone"] == "138****5678"
    assert view["trace_id"] == TRACE_ID
    assert view["id"] == COMPLAINT_ID


def test_steps_stored_before_actors_were_recorded_still_say_who_took_them() -> None:
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    complaint = Complaint(
        id="c-2", ticket="CP-20261123-000002", status="filed", category="not-delivered", priority="normal",
        platform="kameng-example", merchant={"id": "m-1", "name": "星辰卡铺"},
        complainant={"id": "u-1", "display_name": "小王", "contact": {"phone": "13812345678"}},
        order={"number": "KM-2"}, description={}, demand={"type": "refund"}, filed_at=now, updated_at=now,
        filed_by={"subject": "u-1", "role": "complainant"})
    timeline = [{"at": now, "service": "intake", "step": "filed", "detail": {}},
                {"at": now, "service": "intake", "step": "category_corrected", "detail": {"by": "agent-7"}},
                {"at": now, "service": "escalation", "step": "case_opened", "detail": {}},
                {"at": now, "service": "escalation", "step": "status_resolved", "detail": {},
                 "actor": {"role": "agent", "id": "agent-9"}}]
    view = complaint_view(complaint, principal=Principal(subject="u-1", role=Role.COMPLAINANT,
                                                         platform="kameng-example"), timeline=timeline)
    assert [e["actor"] for e in view["timeline"]] == [
        {"role": "complainant", "id": "u-1"}, {"role": "agent", "id": "agent-7"},
        {"role": "system", "id": "escalation"}, {"role": "agent", "id": "agent-9"}]
