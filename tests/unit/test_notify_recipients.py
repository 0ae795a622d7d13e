"""Each party hears about an event once per channel it can be reached on, in its own language."""

import pytest
from pydantic import ValidationError

from services.notify.domain.notice import Channel, Language, Role
from services.notify.domain.recipients import Preferences, Recipient, plan_deliveries

pytestmark = pytest.mark.unit

BUYER = Recipient(id="u-1", role=Role.COMPLAINANT, email="buyer@example.com", phone="13812345678")
SHOP = Recipient(id="m-9", role=Role.MERCHANT, email="shop@example.com",
                 preferences=Preferences(language=Language.EN, time_zone="Asia/Singapore"))
AGENT = Recipient(id="a-3", role=Role.AGENT, email="agent@example.com")
PARTNER = Recipient(id="p-1", role=Role.PARTNER, webhook_url="https://partner.example.com/hook",
                    event_types=frozenset({"ComplaintStatusChanged"}))


def routes(event_type: str, *recipients: Recipient) -> list[tuple[str, str, str]]:
    intents = plan_deliveries(event_id="evt-1", event_type=event_type, recipients=recipients)
    return [(i.recipient_id, i.channel.value, i.language.value) for i in intents]


def test_filed_complaint_reaches_buyer_shop_and_agent_but_not_unsubscribed_partner() -> None:
    assert routes("ComplaintFiled", BUYER, SHOP, AGENT, PARTNER) == [
        ("u-1", "in_app", "zh-CN"), ("u-1", "email", "zh-CN"),
        ("m-9", "in_app", "en"), ("m-9", "email", "en"),
        ("a-3", "in_app", "zh-CN"),
    ]


def test_partner_gets_the_event_types_it_subscribed_to_by_webhook() -> None:
    assert ("p-1", "webhook", "zh-CN") in routes("ComplaintStatusChanged", BUYER, PARTNER)


def test_missing_evidence_texts_the_buyer_and_never_tells_the_shop() -> None:
    assert routes("EvidenceAssessed", BUYER, SHOP) == [
        ("u-1", "in_app", "zh-CN"), ("u-1", "email", "zh-CN"), ("u-1", "sms", "zh-CN")]


def test_sla_warning_emails_the_agent_not_the_buyer() -> None:
    assert routes("SlaWarning", BUYER, AGENT) == [("a-3", "in_app", "zh-CN"), ("a-3", "email", "zh-CN")]


def test_chosen_channels_win_and_unreachable_ones_are_skipped() -> None:
    only_sms = Recipient(id="u-2", role=Role.COMPLAINANT, email="x@example.com",
                         preferences=Preferences(channels=(Channel.SMS, Channel.EMAIL)))
    assert routes("ComplaintFiled", only_sms) == [("u-2", "email", "zh-CN")]


def test_duplicate_recipient_and_redelivered_event_give_the_same_keys() -> None:
    first = plan_deliveries(event_id="evt-1", event_type="ComplaintFiled", recipients=[BUYER, BUYER])
    again = plan_deliveries(event_id="evt-1", event_type="ComplaintFiled", recipients=[BUYER])
    assert [i.key for i in first] == [("evt-1", "u-1", "in_app"), ("evt-1", "u-1", "email")]
    assert [i.delivery_id for i in first] == [i.delivery_id for i in again]
    other = plan_deliveries(event_id="evt-2", event_type="ComplaintFiled", recipients=[BUYER])
    assert {i.delivery_id for i in other}.isdisjoint(i.delivery_id for i in first)


def test_intent_carries_address_and_zone_for_the_sender() -> None:
    (in_app, email) = plan_deliveries(event_id="e", event_type="ComplaintFiled", recipients=[SHOP])
    assert in_app.address is None
    assert (email.address, email.time_zone) == ("shop@example.com", "Asia/Singapore")


def test_bad_time_zone_preference_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="time_zone must be an IANA zone name"):
        Preferences(time_zone="Beijing")
