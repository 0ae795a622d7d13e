"""Routing policy: the shipped defaults, validation errors by YAML path, and the tier guards."""

import pytest
import yaml

from services.escalation.domain.guards import check_tier
from services.escalation.domain.policy import DEFAULT_POLICY, PolicyError, load_policy, parse_policy
from services.escalation.domain.routing import MerchantHistory, next_tier, route
from services.escalation.domain.states import State
from services.escalation.domain.terms import Basis
from shared.contracts.vocabulary import Category, Priority, Tier
from shared.money import Money

pytestmark = pytest.mark.unit

POLICY = load_policy()


def _cny(yuan: int, fen: int = 0) -> Money:
    return Money(amount_minor=yuan * 100 + fen, currency="CNY")


def test_shipped_clocks_carry_the_seed_figures() -> None:
    c = POLICY.clocks
    assert (c["first_response"].basis, c["first_response"].duration) == (Basis.CALENDAR_HOURS, 24)
    assert c["merchant_response"].duration == 24 and c["internal_answer"].duration == 48
    assert (c["refund"].basis, c["refund"].duration) == (Basis.WORKING_DAYS, 7)
    assert c["chargeback"].length_for(channel="visa") == 120
    assert c["chargeback"].length_for(channel="alipay") is None
    assert 15 <= c["payment_channel_dispute"].length_for(channel="wechat") <= 30
    assert c["complaint_window"].duration == 7
    assert POLICY.warn_share == 0.8 and POLICY.clock_warn_share(name="refund") == 0.8


def test_unauthorized_charge_is_urgent_starts_at_the_channel_with_internal_and_freezes() -> None:
    r = route(policy=POLICY, category=Category.UNAUTHORIZED_CHARGE, channel="visa")
    assert r.priority is Priority.URGENT
    assert r.first_tier is Tier.PAYMENT_CHANNEL and r.first_state is State.PAYMENT_CHANNEL_DISPUTE
    assert r.parallel_tiers == (Tier.INTERNAL,)
    assert r.request_account_freeze
    assert "chargeback" in r.clocks and "first_response" in r.clocks


def test_legal_tier_is_open_to_every_case_and_5000_cny_only_raises_priority() -> None:
    # Issue 22 changes this: small claims (004) serve small disputes, in any currency.
    def legal(**kw) -> bool:
        return Tier.LEGAL in route(policy=POLICY, **kw).tiers
    assert legal(category=Category.INVALID_CARD_KEY, amount=_cny(5000))
    assert legal(category=Category.INVALID_CARD_KEY, amount=Money(amount_minor=900000, currency="USD"))
    assert legal(category=Category.UNAUTHORIZED_CHARGE, amount=_cny(29))
    assert route(policy=POLICY, category=Category.INVALID_CARD_KEY, amount=_cny(5000)).priority is Priority.NORMAL
    assert route(policy=POLICY, category=Category.INVALID_CARD_KEY, amount=_cny(5000, 1)).priority is Priority.HIGH


def test_large_amount_raises_priority_but_never_lowers_urgent() -> None:
    r = route(policy=POLICY, category=Category.UNAUTHORIZED_CHARGE, amount=_cny(8000))
    assert r.priority is Priority.URGENT and r.matched_rules == ("unauthorized-charge", "large-amount")
    assert route(policy=POLICY, category=Category.NOT_DELIVERED, amount=_cny(8000)).priority is Priority.HIGH


def test_goods_problems_bring_the_merchant_clock_and_paid_no_order_starts_automatic() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    assert r.first_tier is Tier.INTERNAL and "merchant_response" in r.clocks
    auto = route(policy=POLICY, category=Category.CHARGED_NO_ORDER)
    assert auto.first_tier is Tier.AUTOMATIC and auto.first_state is State.FILED


def test_merchant_who_keeps_missing_clocks_goes_to_platform_arbitration() -> None:
    r = route(policy=POLICY, category=Category.WRONG_DELIVERY, merchant=MerchantHistory(breached_clocks=3))
    assert r.first_tier is Tier.PLATFORM and r.first_state is State.PLATFORM_ARBITRATION
    assert Tier.PLATFORM not in r.next_tiers


def test_external_guard_names_the_missing_proof_then_allows() -> None:
    r = route(policy=POLICY, category=Category.REFUND_REFUSED)
    refused = check_tier(policy=POLICY, route=r, tier=Tier.EXTERNAL)
    assert not refused.allowed
    assert refused.missing == ("refusal_record", "closed_ticket", "breached_clock")
    assert "12315" in refused.text_en and "12315" in refused.text_zh
    assert check_tier(policy=POLICY, route=r, tier=Tier.EXTERNAL, closed_ticket=True).allowed
    assert check_tier(policy=POLICY, route=r, tier=Tier.EXTERNAL,
                      breached_clocks=frozenset({"internal_answer"})).allowed
    # A missed complainant-side window is not a failure of internal handling.
    assert not check_tier(policy=POLICY, route=r, tier=Tier.EXTERNAL,
                          breached_clocks=frozenset({"evidence_upload"})).allowed


def test_legal_guard_lets_every_case_go_to_court_but_no_breach_takes_it_there() -> None:
    r = route(policy=POLICY, category=Category.SLOW_OR_RUDE_SERVICE)
    assert check_tier(policy=POLICY, route=r, tier=Tier.LEGAL).allowed
    assert next_tier(route=r, current=Tier.EXTERNAL) is None


def test_breach_escalates_to_the_next_tier_on_the_route() -> None:
    goods = route(policy=POLICY, category=Category.NOT_DELIVERED)
    assert next_tier(route=goods, current=Tier.INTERNAL) is Tier.PLATFORM
    fraud = route(policy=POLICY, category=Category.UNAUTHORIZED_CHARGE)
    assert next_tier(route=fraud, current=Tier.PAYMENT_CHANNEL) is Tier.EXTERNAL
    assert next_tier(route=fraud, current=Tier.EXTERNAL) is None


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))


def test_unknown_tier_is_reported_with_its_yaml_path() -> None:
    raw = _raw()
    raw["routing"]["rules"][2]["then"]["first_tier"] = "phone"
    with pytest.raises(PolicyError) as err:
        parse_policy(raw=raw, source="policy.yaml")
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith("routing.rules[2].then.first_tier: Input should be 'automatic'")
    assert "(got 'phone')" in str(err.value) and str(err.value).startswith("policy.yaml: ")


def test_unknown_clock_reference_and_missing_duration_are_reported() -> None:
    raw = _raw()
    raw["routing"]["rules"][0]["then"]["add_clocks"] = ["refnd"]
    del raw["clocks"]["refund"]["duration"]
    with pytest.raises(PolicyError) as err:
        parse_policy(raw=raw)
    assert err.value.problems == ["clocks.refund: Value error, duration is required "
                                  "(by_channel alone is only for days_from_payment)"]
    raw["clocks"]["refund"]["duration"] = 7
    with pytest.raises(PolicyError, match=r"routing\.rules\[0\]\.then\.add_clocks\[0\]: unknown clock 'refnd'"):
        parse_policy(raw=raw)


def test_bad_warn_share_empty_condition_and_typo_are_all_reported() -> None:
    raw = _raw()
    raw["warn_share"] = 1.5
    raw["routing"]["rules"][1]["when"] = {}
    raw["clocks"]["first_response"]["duraton"] = 24
    with pytest.raises(PolicyError) as err:
        parse_policy(raw=raw)
    text = "\n".join(err.value.problems)
    assert "warn_share: Input should be less than 1" in text
    assert "routing.rules[1].when: Value error, a rule needs at least one condition" in text
    assert "clocks.first_response.duraton: Extra inputs are not permitted" in text


def test_unreadable_policy_file_is_a_policy_error(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("clocks: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="policy.yaml: \\(file\\): cannot read"):
        load_policy(path=path)


def test_a_policy_written_with_the_old_underscore_categories_still_loads_as_the_shared_ones() -> None:
    raw = _raw()
    raw["routing"]["rules"][1]["when"]["categories"] = ["not_delivered", "wrong_delivery", "invalid_card_key",
                                                        "refund_refused"]
    raw["routing"]["rules"].append({"name": "rude", "when": {"categories": ["slow_service"]},
                                    "then": {"priority": "high"}})
    policy = parse_policy(raw=raw)
    assert policy.routing.rules[1] == POLICY.routing.rules[1]
    assert route(policy=policy, category=Category.SLOW_OR_RUDE_SERVICE).priority is Priority.HIGH
    raw["routing"]["rules"][-1]["when"]["categories"] = ["bad_vibes"]
    with pytest.raises(PolicyError, match=r"routing\.rules\[6\]\.when\.categories\[0\]: Input should be"):
        parse_policy(raw=raw)
