"""OpenAPI examples in Chinese and English for every intake endpoint, requests and answers."""

from __future__ import annotations

from typing import Any

from services.intake.domain.examples import (
    COMPLAINT_EN,
    COMPLAINT_ZH,
    REFUND_AND_DELAY_ZH,
)


def _pair(zh: tuple[str, Any], en: tuple[str, Any]) -> dict[str, dict[str, Any]]:
    return {"zh": {"summary": zh[0], "value": zh[1]}, "en": {"summary": en[0], "value": en[1]}}


def _view(body: dict[str, Any], *, ticket: str, category: str, priority: str) -> dict[str, Any]:
    contact = {"phone": "138****5678"} if "phone" in body["complainant"]["contact"] else {"email": "a***@example.com"}
    return {
        "ticket": ticket, "status": "filed", "tier": None, "category": category,
        "category_inferred": "category" not in body, "category_confidence": 0.8 if "category" not in body else 1.0,
        "priority": priority, "priority_reasons": [], "platform": body["platform"], "merchant": body["merchant"],
        "complainant": {**body["complainant"], "contact": contact}, "order": body["order"],
        "description": body["description"], "demand": body["demand"], "statements": [], "withdrawal": None,
        "source": "http", "filed_at": "2026-11-23T02:00:00Z", "updated_at": "2026-11-23T02:00:00Z",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "already_existed": False,
        "timeline": [{"at": "2026-11-23T02:00:00Z", "service": "intake", "step": "filed", "detail": {},
                      "actor": {"role": "complainant", "id": body["complainant"]["id"]}}],
    }


VIEW_ZH = _view(COMPLAINT_ZH, ticket="CP-20261123-000123", category="invalid-card-key", priority="normal")
VIEW_EN = _view(COMPLAINT_EN, ticket="CP-20261123-000124", category="merchant-fraud", priority="normal") | {
    "demand": {"type": "fraud_triple", "counterfeit": True, "note": None,
               "refund": {"mode": "full", "amount": {"amount_minor": 2900, "currency": "USD"}},
               "compensation": {"amount": {"amount_minor": 8700, "currency": "USD"}, "basis": "fraud_triple",
                                "floor_applied": False, "law": "消法 §55 / PRC Consumer Rights Protection Law art. 55"},
               "total": {"amount_minor": 11600, "currency": "USD"}}}

NEW_COMPLAINT = {
    **_pair(("卡密已被使用，要求补发（类型由系统推断）", COMPLAINT_ZH),
            ("Pirated licence: refund plus threefold compensation (退一赔三)", COMPLAINT_EN)),
    "zh_refund_and_delay": {"summary": "退款 29 元并赔偿 10 元延误损失（一个诉求，两部分）",
                            "value": COMPLAINT_ZH | {"order": COMPLAINT_ZH["order"] | {"amount": 2900},
                                                     "demand": REFUND_AND_DELAY_ZH}},
}
STATEMENT = _pair(("补充陈述", {"text": "商家承诺24小时内补发，但至今未收到。"}),
                  ("Further statement", {"text": "The merchant promised a new key within 24 h; none came."}))
WITHDRAWAL = _pair(("商家已退款，撤诉", {"reason": "商家已全额退款", "code": "resolved-by-merchant"}),
                   ("Resolved elsewhere", {"reason": "PayPal refunded me.", "code": "resolved-elsewhere"}))
CORRECTION = _pair(("更正为盗刷", {"category": "unauthorized-charge", "note": "用户补充说明为盗刷"}),
                   ("Correct to not delivered", {"category": "not-delivered", "note": "Nothing was ever delivered"}))


def answer(description: str, zh: tuple[str, Any], en: tuple[str, Any]) -> dict[str, Any]:
    """An OpenAPI response entry with a zh and an en example."""
    return {"description": description, "content": {"application/json": {"examples": _pair(zh, en)}}}


def errors_answer() -> dict[str, Any]:
    """The 422 answer: problem details listing every field error with its rule, in English and Chinese."""
    zh = {"type": "urn:complaints-suite:problem:gt", "title": "Unprocessable Content", "status": 422,
          "detail": "Input should be greater than 0", "detail_zh": "必须大于 0", "rule": "gt",
          "instance": "/v1/complaints",
          "errors": [{"field": "order.amount", "rule": "gt", "message_en": "Input should be greater than 0",
                      "message_zh": "必须大于 0"}]}
    en = {"type": "urn:complaints-suite:problem:invalid_request", "title": "Unprocessable Content", "status": 422,
          "detail": "2 fields refused: order.currency, demand.type",
          "detail_zh": "2 个字段不符合要求：order.currency, demand.type", "instance": "/v1/complaints",
          "errors": [{"field": "order.currency", "rule": "iso4217",
                      "message_en": "'RMB' is not an ISO 4217 currency code (e.g. CNY, USD)",
                      "message_zh": "“RMB”不是 ISO 4217 货币代码（如 CNY、USD）"},
                     {"field": "demand.type", "rule": "enum", "message_en": "Input should be a known demand type",
                      "message_zh": "取值无效"}]}
    return problem_answer_doc("Field errors (problem details): errors lists field, rule, message_en, message_zh",
                              ("金额必须大于 0", zh), ("Unknown currency", en))


def not_found() -> dict[str, Any]:
    """The 404 answer for a complaint that does not exist or is outside the caller's scope."""
    body = {"type": "urn:complaints-suite:problem:not_found", "title": "Not Found", "status": 404,
            "detail": "no complaint CP-20261123-000999", "detail_zh": "未找到投诉 CP-20261123-000999",
            "instance": "/v1/complaints/CP-20261123-000999", "rule": "not_found", "reason": "not_found"}
    return problem_answer_doc("No such complaint in your scope", ("未找到", body), ("Not found", body))


def problem_answer_doc(description: str, zh: tuple[str, Any], en: tuple[str, Any]) -> dict[str, Any]:
    """An OpenAPI error entry (application/problem+json) with a zh and an en example."""
    return {"description": description, "content": {"application/problem+json": {"examples": _pair(zh, en)}}}


PAGE_ZH = {"items": [{k: VIEW_ZH[k] for k in ("ticket", "status", "category", "priority", "platform", "merchant",
                                               "filed_at", "updated_at")}], "next_cursor": None}
PAGE_EN = {"items": [{k: VIEW_EN[k] for k in ("ticket", "status", "category", "priority", "platform", "merchant",
                                               "filed_at", "updated_at")}], "next_cursor": "eyJ0IjoiMjAyNi0xMS0yMyJ9"}
TRACE = {"ticket": "CP-20261123-000123", "trace_id": VIEW_ZH["trace_id"], "source": "span_store",
         "services": ["intake"], "spans": []}
