"""Whose clock it is: the buyer's own windows warn the buyer and lapse as theirs, every tier has a
clock (platform arbitration breaching into the next tier), the merchant's clock restarts when the
case is forwarded again, and the windows per channel and scheme as the seeds and the law have them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from services.escalation.domain.calendar import default_calendar
from services.escalation.domain.policy import DEFAULT_POLICY
from shared.contracts.complaints import ComplaintFiled
from shared.envelope import new_id, utcnow
from shared.topics import TopicSettings
from tests.support.escalation_cases import (
    DATA,
    escalation_client,
    filed,
    instant,
    of,
    outbox_of,
    read_all,
    send,
    token,
    wait_case,
)
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

AGENT = token(role="agent")
MERCHANT = token(role="merchant", subject="shop-1", merchant_id="m-1001")
SECOND = timedelta(seconds=1)


def _merged(base: dict, over: dict) -> dict:
    return {k: _merged(base.get(k, {}), v) if isinstance(v, dict) else v for k, v in {**base, **over}.items()} \
        if isinstance(base, dict) else over


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def client(service_env: dict[str, str], topics: TopicSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # The shipped policy with only platform arbitration made fast (see the overrides file).
    shipped = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    over = yaml.safe_load((DATA / "policy_fast_tiers.yaml").read_text(encoding="utf-8"))
    path: Path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(yaml.safe_dump(_merged(shipped, over), allow_unicode=True), encoding="utf-8")
    with escalation_client(env=service_env, policy=path) as running:
        yield running


def paid(event: ComplaintFiled, *, ago: timedelta, channel: str | None = None) -> ComplaintFiled:
    """The complaint with its order paid that long ago (through that channel)."""
    order = event.order.model_copy(update={"paid_at": utcnow() - ago, **({"payment_channel": channel}
                                                                        if channel else {})})
    return event.model_copy(update={"order": order})


def open_case(client: TestClient, env: dict[str, str], topics: TopicSettings, event: ComplaintFiled) -> dict:
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    return wait_case(client, event.ticket, headers=AGENT)


def events(env: dict[str, str], topics: TopicSettings, cid: str, type_: str, n: int = 1,
           timeout: float = 30) -> list[dict]:
    def check() -> list[dict] | None:
        found = of(read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
                   complaint_id=cid, type_=type_)
        return found if len(found) >= n else None

    def explain() -> str:
        seen = of(read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
                  complaint_id=cid)
        return f"{outbox_of(env, cid)}; of this complaint: {[m['type'] for m in seen]}"
    return wait_until(check, timeout=timeout, interval=0.3, what=f"{n} {type_} for {cid}", explain=explain)


def clock(case: dict, name: str) -> dict | None:
    return next((c for c in case["clocks"] if c["name"] == name), None)


def act(client: TestClient, ticket: str, action: str, headers: dict, **body: object) -> dict:
    answer = client.post(f"/v1/cases/{ticket}/actions/{action}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_buyer_is_warned_at_the_share_and_again_a_day_before_their_alipay_window_closes(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    # Paid by Alipay 14 days ago less a few seconds: the 15-day dispute window has used its 80 %
    # (warned at once), and a day before it closes comes a few seconds later.
    event = paid(filed(category="not-delivered"), ago=timedelta(days=14) - timedelta(seconds=4))
    case = open_case(client, service_env, topics, event)
    window = clock(case, "payment_channel_dispute")
    assert window["owner"] == "complainant"
    assert instant(window["due_at"]) - instant(window["started_at"]) == timedelta(days=15)
    share, day_before = events(service_env, topics, event.complaint_id, "SlaWarning", n=2)
    for warning in (share, day_before):
        assert warning["clock"] == "payment_channel_dispute" and warning["owner"] == "complainant"
        assert "complainant" in warning["audience"]
        assert instant(warning["due_at"]) == instant(window["due_at"])
    assert (share["stage"], day_before["stage"]) == ("share", "day_before")
    # The merchant-side clocks run on untouched: a 24 h answer is owed by the merchant, not the buyer.
    assert clock(case, "first_response")["owner"] == "merchant"


def test_a_window_of_a_day_or_less_or_warned_within_its_last_day_gets_no_day_before_warning(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, filed(category="not-delivered"))
    act(client, case["ticket"], "request_evidence", AGENT, items=["payment_proof"])
    upload = clock(wait_case(client, case["ticket"], headers=AGENT), "evidence_upload")
    # 72 h warned at 80 %: 14.4 h before the end, already inside the last day.
    assert upload["owner"] == "complainant" and upload["day_before_at"] is None
    window = clock(case, "payment_channel_dispute")
    assert instant(window["day_before_at"]) == instant(window["due_at"]) - timedelta(days=1)


def test_a_lapsed_channel_window_is_recorded_as_the_buyers_and_never_counts_against_the_merchant(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    merchant = f"m-lapse-{new_id()[:8]}"
    event = paid(filed(category="not-delivered", merchant=merchant), ago=timedelta(days=16))
    open_case(client, service_env, topics, event)
    [lapse] = [b for b in events(service_env, topics, event.complaint_id, "SlaBreached")
               if b["clock"] == "payment_channel_dispute"] or [None]
    assert lapse is not None
    assert lapse["owner"] == "complainant"
    assert "complainant" in lapse["audience"] and "merchant" not in lapse["audience"]
    assert lapse["escalated_to"] == ""
    case = wait_until(lambda: (c := wait_case(client, event.ticket, headers=AGENT))
                      and "payment_channel_dispute" in c["lapsed_windows"] and c,
                      timeout=20, what="the lapse on the case")
    assert (case["tier"], case["state"]) == ("internal", "acknowledged")
    assert "escalate" not in [h["action"] for h in case["history"]]
    types = [m["type"] for m in of(read_all(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"],
                                            topic=topics.escalation_events), complaint_id=event.complaint_id)]
    assert "ComplaintEscalated" not in types
    hot = client.get("/v1/analytics/hot-merchants", params={"by": "breached", "limit": 100}, headers=AGENT).json()
    mine = next(m for m in hot["items"] if m["merchant_id"] == merchant)
    assert (mine["open"], mine["breached_clocks"], mine["breached_complaints"]) == (1, 0, 0)


def test_a_simple_case_at_platform_arbitration_breaches_into_the_payment_channel_tier(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    event = filed(category="not-delivered")
    case = open_case(client, service_env, topics, event)
    up = act(client, case["ticket"], "escalate", AGENT, target="platform", reason="the merchant is unreachable")
    assert (up["state"], up["tier"]) == ("platform_arbitration", "platform")
    decision = clock(up, "platform_decision")
    assert (decision["owner"], decision["basis"], decision["status"]) == ("platform", "calendar_hours", "running")
    arbitrate = next(d for d in up["must_act_now"] if d["action"] == "arbitrate")
    assert arbitrate["clock"] == "platform_decision" and instant(arbitrate["due_at"]) == instant(decision["due_at"])
    moved = wait_case(client, case["ticket"], headers=AGENT, state="payment_channel_dispute", timeout=30)
    assert moved["tier"] == "payment_channel"
    assert clock(moved, "platform_decision")["status"] == "stopped"
    breach = next(b for b in events(service_env, topics, event.complaint_id, "SlaBreached")
                  if b["clock"] == "platform_decision")
    assert (breach["owner"], breach["escalated_to"]) == ("platform", "payment_channel")
    assert "agent" in breach["audience"]
    escalated = events(service_env, topics, event.complaint_id, "ComplaintEscalated", n=2)[-1]
    assert (escalated["from_tier"], escalated["to_tier"]) == ("platform", "payment_channel")
    # The channel's own decision window is recorded: 15 days, the channel's, warning the agent.
    channel = clock(moved, "channel_decision")
    assert channel["owner"] == "channel"
    assert instant(channel["due_at"]) - instant(channel["started_at"]) == timedelta(days=15)


def test_a_platform_breach_never_sends_the_buyer_to_a_channel_whose_window_has_closed(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    # Paid by Alipay 20 days ago: the buyer's 15-day dispute window has lapsed, so when platform
    # arbitration runs out the case is not handed to the payment channel.
    event = paid(filed(category="not-delivered"), ago=timedelta(days=20))
    case = open_case(client, service_env, topics, event)
    act(client, case["ticket"], "escalate", AGENT, target="platform", reason="the merchant is unreachable")
    breach = wait_until(lambda: next((b for b in of(read_all(
        bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
        complaint_id=event.complaint_id, type_="SlaBreached") if b["clock"] == "platform_decision"), None),
        timeout=30, interval=0.3, what="the platform clock's breach")
    assert breach["escalated_to"] != "payment_channel"
    after = wait_case(client, case["ticket"], headers=AGENT)
    assert after["tier"] != "payment_channel" and "payment_channel_dispute" in after["lapsed_windows"]
    noted = next(h for h in reversed(after["history"]) if "platform_decision" in (h.get("reason") or ""))
    assert "payment_channel passed over" in noted["reason"]


def test_a_complex_case_gets_five_working_days_of_platform_arbitration(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    # Over 1,000 CNY makes a case complex (policy complex_case): 5 working days, not 24 h.
    event = filed(category="not-delivered", amount_minor=168000)
    case = open_case(client, service_env, topics, event)
    up = act(client, case["ticket"], "escalate", AGENT, target="platform", reason="needs arbitration")
    decision = clock(up, "platform_decision")
    assert decision["basis"] == "working_days"
    started = instant(decision["started_at"])
    assert instant(decision["due_at"]) == default_calendar().add_working_days(start=started, days=5)


def test_the_merchant_response_clock_restarts_when_the_case_is_forwarded_again(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, filed(category="invalid-card-key"))
    ticket = case["ticket"]
    act(client, ticket, "respond", AGENT)
    first = clock(act(client, ticket, "forward_to_merchant", AGENT), "merchant_response")
    assert first["owner"] == "merchant" and first["status"] == "running"
    contested = act(client, ticket, "merchant_response", MERCHANT, decision="contest",
                    reason="the key was delivered and redeemed, see the log")
    assert clock(contested, "merchant_response")["status"] == "stopped"
    again = clock(act(client, ticket, "forward_to_merchant", AGENT),
                  "merchant_response")
    assert again["status"] == "running"
    assert instant(again["started_at"]) > instant(first["started_at"])
    assert instant(again["due_at"]) - instant(again["started_at"]) == timedelta(hours=24)


def test_chargeback_runs_120_days_for_visa_and_not_at_all_for_a_domestic_bank_card(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    visa = paid(filed(category="unauthorized-charge"), ago=timedelta(days=3), channel="visa")
    debit = paid(filed(category="unauthorized-charge"), ago=timedelta(days=3), channel="bank_card")
    by_visa, by_debit = (open_case(client, service_env, topics, e) for e in (visa, debit))
    chargeback = clock(by_visa, "chargeback")
    assert chargeback is not None and chargeback["owner"] == "complainant"
    assert abs(instant(chargeback["due_at"]) - (visa.order.paid_at + timedelta(days=120))) < SECOND
    assert clock(by_debit, "chargeback") is None
    # Both enter the payment-channel tier at once, so the channel's decision window runs for both.
    assert {clock(c, "channel_decision")["owner"] for c in (by_visa, by_debit)} == {"channel"}


def test_paypal_gives_the_buyer_180_days_to_dispute_and_alipay_15(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    by_paypal = paid(filed(category="not-delivered"), ago=timedelta(days=2), channel="paypal")
    by_alipay = paid(filed(category="not-delivered"), ago=timedelta(days=2), channel="alipay")
    for event, days in ((by_paypal, 180), (by_alipay, 15)):
        window = clock(open_case(client, service_env, topics, event), "payment_channel_dispute")
        assert abs(instant(window["due_at"]) - (event.order.paid_at + timedelta(days=days))) < SECOND, event.ticket
        assert window["owner"] == "complainant"


def test_the_refund_clock_runs_from_the_refund_request(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    asks_money = filed(category="not-delivered").model_copy(update={"demand": {
        "type": "refund_and_compensation", "refund": {"amount_minor": 2900, "currency": "CNY"},
        "compensation": {"amount_minor": 1000, "currency": "CNY"}}})
    asks_key = filed(category="invalid-card-key").model_copy(update={"demand": {"type": "reissue"}})
    refund = clock(open_case(client, service_env, topics, asks_money), "refund")
    assert refund is not None and refund["basis"] == "working_days" and refund["status"] == "running"
    assert abs(instant(refund["started_at"]) - asks_money.filed_at) < SECOND
    assert clock(open_case(client, service_env, topics, asks_key), "refund") is None
