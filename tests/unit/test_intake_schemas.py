"""Filing bodies: valid complaints pass intact, every bad input names its field and rule."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.intake.domain.errors import validation_errors
from services.intake.domain.examples import COMPLAINT_EN, COMPLAINT_ZH
from services.intake.domain.schemas import NewComplaint, NewStatement, Withdrawal

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[1] / "data" / "intake"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONTEXT = {"now": NOW}


def load(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def put(body: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        body = body[part]
    body[last] = value


def errors_for(body: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        NewComplaint.model_validate(body, context=CONTEXT)
    return validation_errors(exc=caught.value)


def test_zh_complaint_round_trips_chinese_and_emoji():
    body = load("complaint_zh.json")
    complaint = NewComplaint.model_validate(body, context=CONTEXT)
    again = json.loads(complaint.model_dump_json())
    assert again["complainant"]["display_name"] == "张小明😀"
    assert again["merchant"]["name"] == "星辰点卡专营店🎮"
    assert again["description"]["what_happened"] == body["description"]["what_happened"]
    assert "$13.99" in again["description"]["what_happened"]  # free text may contain "$"


def test_paid_at_is_stored_in_utc():
    complaint = NewComplaint.model_validate(load("complaint_zh.json"), context=CONTEXT)
    assert complaint.order.paid_at == datetime(2026, 11, 20, 13, 15, tzinfo=UTC)
    assert complaint.order.paid_at.utcoffset().total_seconds() == 0


def test_contact_is_normalised():
    complaint = NewComplaint.model_validate(load("complaint_zh.json"), context=CONTEXT)
    assert complaint.complainant.contact.phone == "13812345678"
    assert complaint.complainant.contact.email == "XiaoMing@example.com"


def test_en_complaint_with_email_only_is_accepted():
    complaint = NewComplaint.model_validate(load("complaint_en.json"), context=CONTEXT)
    assert complaint.complainant.contact.phone is None
    assert complaint.category == "merchant-fraud"
    assert complaint.demand.currency == "USD"


def test_category_may_be_left_out():
    body = load("complaint_zh.json")
    assert "category" not in body
    assert NewComplaint.model_validate(body, context=CONTEXT).category is None


@pytest.mark.parametrize("example", [COMPLAINT_ZH, COMPLAINT_EN], ids=["zh", "en"])
def test_openapi_examples_stay_valid(example):
    NewComplaint.model_validate(copy.deepcopy(example), context=CONTEXT)


@pytest.mark.parametrize("case", load("invalid_cases.json"), ids=lambda case: case["name"])
def test_bad_input_names_field_and_rule(case):
    body = load("complaint_zh.json")
    for dotted, value in case.get("set", {}).items():
        put(body, dotted, value)
    for dotted, (text, times) in case.get("repeat", {}).items():
        put(body, dotted, text * times)
    for key in case.get("delete", []):
        del body[key]
    found = [(entry["field"], entry["rule"]) for entry in errors_for(body)]
    assert (case["field"], case["rule"]) in found


def test_every_error_has_both_languages():
    body = load("complaint_zh.json")
    put(body, "order.amount", 0)
    put(body, "order.currency", "ABC")
    for entry in errors_for(body):
        assert entry["message_en"] and entry["message_zh"]
        assert entry["message_en"] != entry["message_zh"]


def test_operator_key_never_reaches_the_model():
    body = load("complaint_zh.json")
    body["order"]["$where"] = "function() { return true }"
    assert [e["rule"] for e in errors_for(body)] == ["forbidden_key"]


def test_statement_and_withdrawal_bodies():
    statement = NewStatement.model_validate({"text": "商家承诺24小时内补发 🙏"}, context=CONTEXT)
    assert statement.text == "商家承诺24小时内补发 🙏"
    withdrawal = Withdrawal.model_validate({"reason": "商家已退款", "code": "resolved-by-merchant"})
    assert withdrawal.code == "resolved-by-merchant"
    with pytest.raises(ValidationError) as caught:
        Withdrawal.model_validate({"reason": "", "$set": {"status": "closed"}})
    assert validation_errors(exc=caught.value)[0]["rule"] == "forbidden_key"
    with pytest.raises(ValidationError) as caught:
        NewStatement.model_validate({"text": "x" * 5001})
    entry = validation_errors(exc=caught.value)[0]
    assert (entry["field"], entry["rule"]) == ("text", "max_length")


def _properties(schema: dict, defs: dict):
    for name, prop in schema.get("properties", {}).items():
        yield name, prop
    for sub in defs.values():
        for name, prop in sub.get("properties", {}).items():
            yield f"{sub.get('title')}.{name}", prop


def test_every_field_is_documented_in_both_languages():
    schema = NewComplaint.model_json_schema()
    for name, prop in _properties(schema, schema.get("$defs", {})):
        assert prop.get("title") and prop.get("description"), name
        assert "/" in prop["title"], f"{name}: title should read 中文 / English"
    assert len(schema["examples"]) == 2


def test_raw_json_body_validates_the_same_way():
    raw = (DATA / "complaint_zh.json").read_text(encoding="utf-8")
    complaint = NewComplaint.model_validate_json(raw, context=CONTEXT)
    assert complaint.merchant.name == "星辰点卡专营店🎮"
    smuggled = raw.replace('"amount": 19600', '"amount": {"$gt": 0}')
    with pytest.raises(ValidationError) as caught:
        NewComplaint.model_validate_json(smuggled, context=CONTEXT)
    assert [(e["field"], e["rule"]) for e in validation_errors(exc=caught.value)] == [("order.amount", "integer")]
