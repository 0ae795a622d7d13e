"""Notify's HTTP routes for readers: the in-app inbox with read/unread, and one's own preferences."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notify.api import errors, views
from services.notify.domain.notice import SHANGHAI, Role, check_time_zone
from services.notify.service import inbox
from shared.auth import Principal
from shared.http_auth import CurrentPrincipal
from shared.problems import problem

router = APIRouter(tags=["inbox"])


def reader(principal: Principal) -> tuple[Role, str]:
    """The recipient role and id a caller reads as (a merchant reads as its merchant id); a token
    for one complaint (a status link's) has no inbox or preferences: 403."""
    if principal.ticket:
        raise problem(403, en="A token for one complaint cannot read an inbox or preferences",
                      zh="仅限单个投诉的令牌不能查看消息或偏好设置", rule="ticket_token")
    role = Role(principal.role.value)
    return role, (principal.merchant_id if role is Role.MERCHANT else principal.subject) or principal.subject


@router.get("/v1/inbox", summary="The caller's in-app notifications, newest first")
def get_inbox(principal: CurrentPrincipal, unread: bool = Query(False, description="Only unread ones"),
              limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    items = inbox.list_inbox(role=role, recipient_id=recipient_id, platform=principal.platform,
                             unread_only=unread, limit=limit)
    unread_count = len(inbox.list_inbox(role=role, recipient_id=recipient_id, platform=principal.platform,
                                        unread_only=True, limit=1000))
    return {"items": [views.inbox_item(n) for n in items], "unread": unread_count}


@router.post("/v1/inbox/{notification_id}/read", summary="Mark one notification read (idempotent)",
             responses={404: {"description": "Not in the caller's inbox"}})
def read_notification(notification_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    found = inbox.mark_read(notification_id=notification_id, role=role, recipient_id=recipient_id,
                            platform=principal.platform)
    if found is None:
        raise errors.notification_not_found()
    return views.inbox_item(found)


class PreferencesBody(BaseModel):
    """A reader's contact and choices; channels null means the defaults for the role and event."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9 -]{6,20}$")
    channels: list[Literal["in_app", "email", "sms"]] | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    time_zone: str = SHANGHAI

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)


@router.put("/v1/preferences", summary="Set the caller's own contact, channels, language and time zone")
def put_preferences(body: PreferencesBody, principal: CurrentPrincipal) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    if role is Role.PARTNER or not principal.platform:
        raise errors.preferences_need_platform()
    profile = inbox.set_preferences(platform=principal.platform, role=role, recipient_id=recipient_id,
                                    email=body.email, phone=body.phone, channels=body.channels,
                                    language=body.language, time_zone=body.time_zone)
    return views.preferences(profile)


@router.get("/v1/preferences", summary="The caller's own contact and preferences",
            responses={404: {"description": "None set yet"}})
def get_preferences(principal: CurrentPrincipal) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    profile = inbox.get_preferences(platform=principal.platform, role=role, recipient_id=recipient_id)
    if profile is None:
        raise errors.preferences_not_found()
    return views.preferences(profile)
