"""Notify's HTTP routes for readers: the in-app inbox with read/unread, and one's own preferences."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notify import service
from services.notify.domain.notice import SHANGHAI, Channel, Role, check_time_zone
from services.notify.models import Notification, RecipientProfile
from services.notify.planning import recipient_key
from shared.auth import Principal
from shared.envelope import utcnow
from shared.http_auth import CurrentPrincipal

router = APIRouter(tags=["inbox"])
NOT_FOUND = {"message": "no such notification in your inbox", "message_zh": "收件箱中没有这条通知"}


def reader(principal: Principal) -> tuple[Role, str]:
    """The recipient role and id a caller reads as (a merchant reads as its merchant id)."""
    role = Role(principal.role.value)
    return role, (principal.merchant_id if role is Role.MERCHANT else principal.subject) or principal.subject


def _item(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "ticket": n.ticket, "event_type": n.event_type, "subject": n.subject, "body": n.body,
            "created_at": n.created_at, "read": n.read_at is not None, "read_at": n.read_at}


@router.get("/v1/inbox", summary="The caller's in-app notifications, newest first")
def get_inbox(principal: CurrentPrincipal, unread: bool = Query(False, description="Only unread ones"),
              limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    items = service.list_inbox(role=role, recipient_id=recipient_id, platform=principal.platform,
                               unread_only=unread, limit=limit)
    unread_count = len(service.list_inbox(role=role, recipient_id=recipient_id, platform=principal.platform,
                                          unread_only=True, limit=1000))
    return {"items": [_item(n) for n in items], "unread": unread_count}


@router.post("/v1/inbox/{notification_id}/read", summary="Mark one notification read (idempotent)",
             responses={404: {"description": "Not in the caller's inbox"}})
def read_notification(notification_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    found = service.mark_read(notification_id=notification_id, role=role, recipient_id=recipient_id,
                              platform=principal.platform)
    if found is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return _item(found)


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


def _profile_out(p: RecipientProfile) -> dict[str, Any]:
    return {"email": p.email, "phone": p.phone, "channels": p.channels, "language": p.language,
            "time_zone": p.time_zone, "updated_at": p.updated_at}


@router.put("/v1/preferences", summary="Set the caller's own contact, channels, language and time zone")
def put_preferences(body: PreferencesBody, principal: CurrentPrincipal) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    if role is Role.PARTNER or not principal.platform:
        raise HTTPException(status_code=422, detail={"field": "token.platform", "rule": "required",
                                                     "message": "preferences belong to a person on a platform",
                                                     "message_zh": "偏好设置需要所属平台"})
    profile = RecipientProfile(
        id=recipient_key(platform=principal.platform, role=role.value, recipient_id=recipient_id),
        platform=principal.platform, role=role.value, recipient_id=recipient_id, email=body.email,
        phone=body.phone, channels=[Channel(c).value for c in body.channels] if body.channels is not None else None,
        language=body.language, time_zone=body.time_zone, updated_at=utcnow())
    profile.save()
    return _profile_out(profile)


@router.get("/v1/preferences", summary="The caller's own contact and preferences",
            responses={404: {"description": "None set yet"}})
def get_preferences(principal: CurrentPrincipal) -> dict[str, Any]:
    role, recipient_id = reader(principal)
    key = recipient_key(platform=principal.platform or "", role=role.value, recipient_id=recipient_id)
    profile = RecipientProfile.objects(id=key).first()
    if profile is None:
        raise HTTPException(status_code=404, detail={"message": "no preferences set", "message_zh": "尚未设置偏好"})
    return _profile_out(profile)
