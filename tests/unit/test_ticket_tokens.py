"""A status link's token (a complainant token with a `ticket` claim) sees its one complaint only."""

from __future__ import annotations

import pytest

from services.escalation.service.rules import in_scope as case_in_scope
from services.evidence.models import EvidenceFile
from services.evidence.service.access import in_scope as evidence_in_scope
from shared.auth import can_see, mint_token, scope_filter, verify_token

pytestmark = pytest.mark.unit
SECRET = "s" * 40


def _buyer(ticket: str | None):
    return verify_token(secret=SECRET, token=mint_token(secret=SECRET, subject="u-2001", role="complainant",
                                                        platform="kamen-1", ticket=ticket))


def test_the_ticket_claim_limits_every_services_scope_to_that_complaint() -> None:
    limited, whole = _buyer("CP-1"), _buyer(None)
    assert limited.ticket == "CP-1" and whole.ticket is None
    assert scope_filter(principal=limited) == {"complainant.id": "u-2001", "platform": "kamen-1", "ticket": "CP-1"}
    complaint = {"platform": "kamen-1", "complainant": {"id": "u-2001"}, "merchant": {"id": "m-1"}}
    for ticket, seen in (("CP-1", True), ("CP-2", False)):
        assert can_see(principal=limited, complaint={**complaint, "ticket": ticket}) is seen
        assert can_see(principal=whole, complaint={**complaint, "ticket": ticket})
        case = {"ticket": ticket, "platform": "kamen-1", "complainant_id": "u-2001", "merchant_id": "m-1"}
        assert case_in_scope(principal=limited, case=case) is seen and case_in_scope(principal=whole, case=case)
        evidence_file = EvidenceFile(ticket=ticket, platform="kamen-1", complainant_id="u-2001", merchant_id="m-1")
        assert evidence_in_scope(principal=limited, evidence_file=evidence_file) is seen
        assert evidence_in_scope(principal=whole, evidence_file=evidence_file)
