"""The filing notice carries the complainant's status link, whole, and only to the complainant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.domain.notice import Language, Notice, Role
from services.notify.domain.render import render_notice
from shared.status_link import sign_link, verify_link

pytestmark = pytest.mark.unit
SECRET = "k" * 40


def _notice(link: str | None) -> Notice:
    return Notice(event_id="e1", event_type="ComplaintFiled", complaint_id="c" * 32, ticket="CP-20261207-000001",
                  occurred_at=datetime.now(UTC), details={"status_link": link} if link else {})


@pytest.mark.parametrize("language", list(Language))
def test_the_complainant_gets_the_link_in_every_form_and_no_one_else_does(language: Language) -> None:
    link = "https://console.example/s/" + sign_link(secret=SECRET, ticket="CP-20261207-000001",
                                                    complainant_id="u-2001", platform="kamen-1")
    mine = render_notice(notice=_notice(link), role=Role.COMPLAINANT, language=language)
    assert not mine.fallback and all(link in part for part in (mine.text, mine.html, mine.sms))
    assert verify_link(secret=SECRET, token=link.rsplit("/", 1)[1]).ticket == "CP-20261207-000001"
    for role in (Role.MERCHANT, Role.AGENT, Role.PARTNER):
        theirs = render_notice(notice=_notice(link), role=role, language=language)
        assert "/s/" not in theirs.text + theirs.html + theirs.sms


def test_without_a_console_the_filing_notice_is_as_before() -> None:
    plain = render_notice(notice=_notice(None), role=Role.COMPLAINANT, language=Language.EN)
    assert not plain.fallback and "/s/" not in plain.text
