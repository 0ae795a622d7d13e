"""Problem details (RFC 9457) built from every shape a route raises: one body a partner can parse."""

from __future__ import annotations

import pytest

from shared.problems import INVALID_REQUEST, TYPE_PREFIX, problem_body

pytestmark = pytest.mark.unit


def test_a_refusal_with_a_rule_names_its_type_and_keeps_its_facts() -> None:
    body = problem_body(status=409, instance="/v1/cases/CP-1/actions/resolve", detail={
        "rule": "illegal_transition", "allowed": ["in_review"], "message": "not now", "message_zh": "不允许"})
    assert body == {"type": f"{TYPE_PREFIX}illegal_transition", "title": "Conflict", "status": 409,
                    "detail": "not now", "detail_zh": "不允许", "instance": "/v1/cases/CP-1/actions/resolve",
                    "rule": "illegal_transition", "allowed": ["in_review"]}


def test_one_refused_field_is_listed_under_errors_in_both_languages() -> None:
    body = problem_body(status=403, instance="/v1/payment-records", detail={
        "field": "role", "rule": "partner_or_agent", "message": "only partners", "message_zh": "只有合作方"})
    assert body["errors"] == [{"field": "role", "rule": "partner_or_agent", "message_en": "only partners",
                               "message_zh": "只有合作方"}]


def test_several_field_errors_make_an_invalid_request_naming_each_field() -> None:
    body = problem_body(status=422, instance="/v1/complaints", detail=[
        {"field": "order.amount", "rule": "gt", "message_en": "must be > 0", "message_zh": "必须大于 0"},
        {"field": "order.currency", "rule": "iso4217", "message": "not ISO 4217", "message_zh": "不是货币代码"}])
    assert body["type"] == INVALID_REQUEST
    assert [(e["field"], e["rule"], e["message_en"]) for e in body["errors"]] == [
        ("order.amount", "gt", "must be > 0"), ("order.currency", "iso4217", "not ISO 4217")]
    assert "order.amount" in body["detail"] and "order.currency" in body["detail_zh"]


def test_a_framework_answer_without_text_gets_a_title_and_chinese_text() -> None:
    body = problem_body(status=400, instance="/v1/x", detail="There was an error parsing the body")
    assert (body["type"], body["title"], body["detail"]) == ("about:blank", "Bad Request",
                                                             "There was an error parsing the body")
    assert body["detail_zh"]


def test_an_extension_cannot_overwrite_a_member_rfc_9457_defines() -> None:
    body = problem_body(status=404, instance="/v1/x", detail={"message": "gone", "message_zh": "无",
                                                              "status": "closed", "type": "x"})
    assert (body["status"], body["type"]) == (404, "about:blank")
