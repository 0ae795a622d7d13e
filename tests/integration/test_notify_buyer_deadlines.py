"""The buyer hears of their own windows before they close, with where to go; after a lapse they are
told it closed, not blamed, and the merchant is not threatened over it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from shared.contracts.escalation import SlaBreached, SlaWarning
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, token
from tests.support.servers import Servers
from tests.support.smtp_server import SmtpServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

DUE = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 12:00 Beijing time, 05:00 in Berlin
WHERE = {"zh-CN": ["支付宝", "我的→账单", "申请售后/投诉", "微信支付", "账单", "投诉", "2026-12-08 12:00", "北京时间"],
         "en": ["Alipay", "我的→账单", "WeChat Pay", "dispute process", "2026-12-08 12:00 Beijing time",
                "2026-12-08 05:00 CET", "Europe/Berlin"]}
CLOSED = {"zh-CN": "支付渠道争议申请期限」已于截止时间结束", "en": "Your payment-channel dispute window closed"}
BLAME = ["平台将介入", "未能在时限内", "向支付渠道", "did not get a substantive answer", "step in",
         "to your payment channel"]
THREATS = ["逾期平台将介入处理", "保证金", "deposit"]


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], smtp: SmtpServer) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, smtp_host=smtp.host, smtp_port=smtp.port,
                           smtp_tls="none")


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def text_of(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(preferencelist=("plain",)).get_content()


def emails(smtp: SmtpServer, address: str, word: str) -> list:
    return [m for m in smtp.messages if m["To"] == address and word in text_of(m)]


@pytest.mark.parametrize(("language", "zone"), [("zh-CN", None), ("en", "Europe/Berlin")])
def test_the_buyer_is_warned_before_the_channel_window_closes_and_not_blamed_after(
        app: TestClient, settings: NotifySettings, smtp: SmtpServer, language: str, zone: str | None) -> None:
    buyer, shop = f"u-window-{language}", f"m-window-{language}"
    address = f"window-{language.lower()}@example.com"
    me = token(settings, subject=buyer, role="complainant")
    merchant = token(settings, subject=f"{shop}-staff", role="merchant", merchant_id=shop)
    if zone:
        assert app.put("/v1/preferences", headers=me, json={"email": address, "language": language,
                                                            "time_zone": zone}).status_code == 200
    assert app.put("/v1/preferences", headers=merchant, json={"email": f"{shop}@example.com"}).status_code == 200
    filed = complaint_filed(complainant=buyer, language=language, email=address, merchant=shop)
    publish(settings, topic=settings.topics.intake_events, events=[filed])
    wait_until(lambda: app.get("/v1/inbox", headers=merchant).json()["items"], timeout=30, what="the shop told")

    ids = {"complaint_id": filed.complaint_id, "ticket": filed.ticket}
    warning = SlaWarning(**ids, clock="payment_channel_dispute", due_at=DUE, owner="complainant",
                         audience=["complainant"], stage="day_before")
    publish(settings, topic=settings.topics.escalation_events, events=[warning])

    [warned] = wait_until(lambda: emails(smtp, address, WHERE[language][0]), timeout=30, what="the warning email")
    body = text_of(warned)
    assert all(word in body for word in WHERE[language]), body
    inbox = wait_until(lambda: [i for i in app.get("/v1/inbox", headers=me).json()["items"]
                                if i["event_type"] == "SlaWarning"], timeout=30, what="the warning in-app")
    assert "申请售后/投诉" in inbox[0]["body"] or "After-sales" in inbox[0]["body"]

    breach = SlaBreached(**ids, clock="payment_channel_dispute", due_at=DUE, owner="complainant",
                         audience=["complainant", "agent"])
    publish(settings, topic=settings.topics.escalation_events, events=[breach])
    [closed] = wait_until(lambda: emails(smtp, address, CLOSED[language]), timeout=30, what="the lapse email")
    told = text_of(closed) + closed["Subject"]
    assert not [word for word in BLAME if word in told], told
    assert "12315" in told  # what remains: the complaint goes on, and external bodies

    # The merchant heard of the filing, and of neither the buyer's warning nor the buyer's lapse.
    later = complaint_filed(complainant=buyer, language=language, email=address, merchant=shop)
    publish(settings, topic=settings.topics.intake_events, events=[later])
    shop_inbox = wait_until(lambda: [i for i in app.get("/v1/inbox", headers=merchant).json()["items"]
                                     if i["ticket"] == later.ticket], timeout=30, what="the later filing")
    seen = app.get("/v1/inbox", headers=merchant).json()["items"]
    assert shop_inbox and {i["event_type"] for i in seen} == {"ComplaintFiled"}
    shop_mail = " ".join(text_of(m) for m in smtp.messages if m["To"] == f"{shop}@example.com")
    assert filed.ticket in shop_mail and not [word for word in THREATS if word in shop_mail]


def test_an_old_breach_without_owner_of_a_buyer_clock_spares_the_merchant(
        app: TestClient, settings: NotifySettings) -> None:
    shop = "m-old-breach"
    merchant = token(settings, subject=f"{shop}-staff", role="merchant", merchant_id=shop)
    filed = complaint_filed(complainant="u-old-breach", merchant=shop)
    publish(settings, topic=settings.topics.intake_events, events=[filed])
    breach = SlaBreached(complaint_id=filed.complaint_id, ticket=filed.ticket, clock="chargeback",
                         due_at=datetime.now(UTC) - timedelta(minutes=1))
    publish(settings, topic=settings.topics.escalation_events, events=[breach])
    me = token(settings, subject="u-old-breach", role="complainant")
    [told] = wait_until(lambda: [i for i in app.get("/v1/inbox", headers=me).json()["items"]
                                 if i["event_type"] == "SlaBreached"], timeout=30, what="the buyer told")
    assert "信用卡拒付申请期限" in told["body"] and "平台将介入" not in told["body"]
    assert {i["event_type"] for i in app.get("/v1/inbox", headers=merchant).json()["items"]} == {"ComplaintFiled"}
