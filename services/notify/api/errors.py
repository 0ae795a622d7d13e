"""How notify's refusals answer over HTTP: 403, 404 and 422 with English and Chinese messages."""

from __future__ import annotations

from fastapi import HTTPException

from services.notify.domain.webhook_targets import TargetRefused


def notification_not_found() -> HTTPException:
    """No such notification in the caller's inbox."""
    return HTTPException(status_code=404, detail={"message": "no such notification in your inbox",
                                                  "message_zh": "收件箱中没有这条通知"})


def preferences_need_platform() -> HTTPException:
    """Preferences belong to a person on a platform (not a partner, not a token without one)."""
    return HTTPException(status_code=422, detail={"field": "token.platform", "rule": "required",
                                                  "message": "preferences belong to a person on a platform",
                                                  "message_zh": "偏好设置需要所属平台"})


def preferences_not_found() -> HTTPException:
    """None set yet."""
    return HTTPException(status_code=404, detail={"message": "no preferences set", "message_zh": "尚未设置偏好"})


def not_a_partner() -> HTTPException:
    """Only a platform's partner integration manages webhook subscriptions."""
    return HTTPException(status_code=403, detail={"message": "only a platform's partner integration may "
                                                  "manage webhook subscriptions",
                                                  "message_zh": "只有平台的合作方集成可以管理回调订阅"})


def subscription_not_found() -> HTTPException:
    """No such subscription of the caller's platform."""
    return HTTPException(status_code=404, detail={"message": "no such subscription", "message_zh": "订阅不存在"})


def delivery_not_found() -> HTTPException:
    """No such delivery of the subscription."""
    return HTTPException(status_code=404, detail={"message": "no such delivery", "message_zh": "投递记录不存在"})


def target_refused(exc: TargetRefused) -> HTTPException:
    """The webhook URL breaks a rule."""
    return HTTPException(status_code=422, detail=[{"field": "url", "rule": "webhook_target",
                                                   "message": str(exc), "message_zh": exc.message_zh}])


def field_refused(*, field: str, rule: str, message: str, message_zh: str) -> HTTPException:
    """A query or body field breaks a rule (422, naming the field and the rule)."""
    return HTTPException(status_code=422, detail=[{"field": field, "rule": rule, "message": message,
                                                   "message_zh": message_zh}])


def ping_failed(*, timed_out: bool, error: str, delivery_id: str, status_code: int | None,
                latency_ms: int) -> HTTPException:
    """The endpoint did not take the test event: 504 when it did not answer in time, else 502, saying why."""
    why = "did not answer in time" if timed_out else "refused the test event"
    why_zh = "未在时限内应答" if timed_out else "未接受测试事件"
    return HTTPException(status_code=504 if timed_out else 502, detail={
        "message": f"the endpoint {why}: {error}", "message_zh": f"回调地址{why_zh}：{error}",
        "delivery_id": delivery_id, "status_code": status_code, "latency_ms": latency_ms})
