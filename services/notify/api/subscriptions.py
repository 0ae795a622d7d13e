"""Notify's HTTP routes for partners: webhook subscriptions, test events, secrets, pause, delivery log,
redelivery and replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.notify.adapters.webhook_targets import validate_target
from services.notify.api import errors, views
from services.notify.domain.cursors import BadCursor
from services.notify.domain.webhook_targets import TargetRefused
from services.notify.models import Subscription
from services.notify.service import events_log
from services.notify.service import subscriptions as subs
from shared.auth import Principal, Role
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"])


EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
#: Longest grace a rotated-out secret may have (30 days).
MAX_GRACE_S = 2_592_000.0


def _known_types(value: list[str] | None) -> list[str] | None:
    unknown = sorted(set(value or ()) - set(subs.PARTNER_EVENTS))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; allowed: {subs.PARTNER_EVENTS}")
    return value


class SubscriptionBody(BaseModel):
    """A webhook endpoint and the event types it wants (empty: every partner event)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=200)
    contact_email: str | None = Field(None, max_length=254, pattern=EMAIL,
                                      description="Told by email too when the endpoint is paused for failures")
    secret_grace_s: float | None = Field(None, ge=0, le=MAX_GRACE_S,
                                         description="How long a rotated-out secret keeps signing (default: "
                                                     "NOTIFY_WEBHOOK_SECRET_GRACE_S)")

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _known_types(value) or []


class SubscriptionChange(BaseModel):
    """What a PATCH may change; the secret is changed only by rotation."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=2048)
    event_types: list[str] | None = Field(None, max_length=20)
    description: str | None = Field(None, max_length=200)
    contact_email: str | None = Field(None, max_length=254, pattern=EMAIL)
    secret_grace_s: float | None = Field(None, ge=0, le=MAX_GRACE_S)

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return _known_types(value)


class RotateBody(BaseModel):
    """How long the secrets being rotated out keep signing (default: the subscription's, else the setting)."""

    model_config = ConfigDict(extra="forbid")

    grace_s: float | None = Field(None, ge=0, le=MAX_GRACE_S)


class ReplayBody(BaseModel):
    """The range of recorded events to send again: from (inclusive) to (exclusive), as GET /v1/events lists."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> ReplayBody:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


def partner_of(principal: Principal) -> str:
    """The caller's platform, when the caller is a platform's partner integration (else 403)."""
    if principal.role is not Role.PARTNER or not principal.platform:
        raise errors.not_a_partner()
    return principal.platform


async def _found(principal: Principal, subscription_id: str) -> Subscription:
    platform = partner_of(principal)
    found = await asyncio.to_thread(subs.get_subscription, platform=platform, subscription_id=subscription_id)
    if found is None:
        raise errors.subscription_not_found()
    return found


@router.post("", status_code=201, summary="Subscribe a URL; the signing secret is shown once",
             description="The subscription gets the events notify handles from now on; with several notify "
                         "instances, the others count it within NOTIFY_SUBSCRIPTIONS_MAX_AGE_S (1 s).",
             responses={422: {"description": "URL or filter refused, with the rule"}})
async def post_subscription(body: SubscriptionBody, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    platform = partner_of(principal)
    settings = request.app.state.runtime.settings
    try:
        url = await validate_target(url=body.url, allow_private=settings.webhook_allow_private_targets,
                                    private_hosts=settings.webhook_private_hosts)
    except TargetRefused as exc:
        raise errors.target_refused(exc) from exc
    created, secret = await asyncio.to_thread(subs.create_subscription, platform=platform,
                                              owner=principal.subject, url=url, event_types=body.event_types,
                                              description=body.description, contact_email=body.contact_email,
                                              secret_grace_s=body.secret_grace_s,
                                              endpoints=request.app.state.endpoints)
    return views.subscription(created) | {"secret": secret}


@router.get("", summary="The platform's subscriptions (secrets are never listed)")
async def get_subscriptions(principal: CurrentPrincipal) -> dict[str, Any]:
    items = await asyncio.to_thread(subs.list_subscriptions, platform=partner_of(principal))
    return {"items": [views.subscription(s) for s in items], "event_types": subs.PARTNER_EVENTS}


@router.get("/{subscription_id}", summary="One subscription with its pending deliveries",
            responses={404: {"description": "Not found"}})
async def get_subscription(subscription_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    pending = await asyncio.to_thread(subs.count_pending, subscription=found)
    return views.subscription(found) | {"pending_deliveries": pending}


@router.post("/{subscription_id}/pause", summary="Hold deliveries until resumed (nothing is dropped)")
async def pause(subscription_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    await asyncio.to_thread(subs.pause_subscription, subscription=await _found(principal, subscription_id))
    return views.subscription(await _found(principal, subscription_id))


@router.delete("/{subscription_id}", status_code=204, summary="Stop deliveries to this endpoint")
async def delete_subscription(subscription_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    await asyncio.to_thread(subs.delete_subscription, subscription=await _found(principal, subscription_id),
                            endpoints=request.app.state.endpoints)
    return Response(status_code=204)


@router.patch("/{subscription_id}", summary="Change the URL (checked again), event types, description, "
                                            "contact email or rotation grace; the secret stays",
              responses={404: {"description": "Not found"}, 422: {"description": "A field refused, with the rule"}})
async def patch_subscription(subscription_id: str, body: SubscriptionChange, principal: CurrentPrincipal,
                             request: Request) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    changes = body.model_dump(exclude_unset=True)
    for field in ("url", "event_types"):
        if field in changes and changes[field] is None:
            raise errors.field_refused(field=field, rule="not_null", message=f"{field}: may not be null",
                                       message_zh=f"{field}：不能为空")
    if "url" in changes:
        settings = request.app.state.runtime.settings
        try:
            changes["url"] = await validate_target(url=changes["url"],
                                                   allow_private=settings.webhook_allow_private_targets,
                                                   private_hosts=settings.webhook_private_hosts)
        except TargetRefused as exc:
            raise errors.target_refused(exc) from exc
    updated = await asyncio.to_thread(subs.update_subscription, subscription=found, changes=changes,
                                      endpoints=request.app.state.endpoints)
    if updated is None:
        raise errors.subscription_not_found()
    return views.subscription(updated)


@router.post("/{subscription_id}/test", summary="Send a signed test event now and answer with its outcome",
             description=f"Type `{subs.PING_TYPE}`, signed like every delivery (Standard Webhooks), sent at once "
                         "and once (no retry), logged in the delivery log. 200 with the status code and latency "
                         "when the endpoint answers 2xx; 502 when it answers otherwise or cannot be reached; 504 "
                         "when it does not answer within NOTIFY_WEBHOOK_TIMEOUT_S.",
             responses={404: {"description": "Not found"}, 422: {"description": "The URL now breaks a rule"},
                        502: {"description": "The endpoint refused it or could not be reached"},
                        504: {"description": "The endpoint did not answer in time"}})
async def test_subscription(subscription_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    settings = request.app.state.runtime.settings
    try:
        outcome = await subs.ping(subscription=found, allow_private=settings.webhook_allow_private_targets,
                                  private_hosts=settings.webhook_private_hosts, timeout_s=settings.webhook_timeout_s)
    except TargetRefused as exc:
        raise errors.target_refused(exc) from exc
    if not outcome.ok:
        raise errors.ping_failed(timed_out=outcome.timed_out, error=outcome.error or "",
                                 status_code=outcome.status_code,
                                 delivery_id=outcome.delivery_id, latency_ms=outcome.latency_ms)
    return {"delivery_id": outcome.delivery_id, "webhook_id": outcome.delivery_id, "type": subs.PING_TYPE,
            "ok": True, "status_code": outcome.status_code, "latency_ms": outcome.latency_ms}


@router.post("/{subscription_id}/secret/rotate",
             summary="New secret, shown once; the old ones keep signing for the grace period, then only the new one")
async def rotate_secret(subscription_id: str, principal: CurrentPrincipal, request: Request,
                        body: Annotated[RotateBody | None, Body()] = None) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    grace = subs.grace_of(subscription=found, asked_s=body.grace_s if body else None,
                          default_s=request.app.state.runtime.settings.webhook_secret_grace_s)
    secret = await asyncio.to_thread(subs.rotate_secret, subscription=found, grace=grace)
    return {"id": found.id, "secret": secret, "previous_secrets_valid_for_s": grace.total_seconds(),
            "previous_secrets_valid_until": datetime.now(UTC) + grace}


@router.post("/{subscription_id}/resume", summary="Resume a paused endpoint; held deliveries go out")
async def resume(subscription_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    await asyncio.to_thread(subs.resume_subscription, subscription=found)
    request.app.state.worker.wake()
    return views.subscription(await _found(principal, subscription_id))


STATES = ("pending", "delivered", "failed")


def _states(status: list[str] | None) -> set[str]:
    asked = {part.strip() for value in status or () for part in value.split(",") if part.strip()}
    unknown = sorted(asked - set(STATES))
    if unknown:
        raise errors.field_refused(field="status", rule="one_of",
                                   message=f"status: {unknown} not one of {list(STATES)}",
                                   message_zh=f"status：{unknown} 不是 {list(STATES)} 之一")
    return asked


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def bad_cursor() -> Exception:
    """A cursor not given out here."""
    return errors.field_refused(field="cursor", rule="cursor", message="cursor: not a cursor this list gave out",
                                message_zh="cursor：不是本列表给出的游标")


@router.get("/{subscription_id}/deliveries",
            summary="Delivery log, newest first: every attempt with status, latency, error; filtered and paged",
            description="`status` (repeat or comma-separate: pending, delivered, failed), `since`/`until` (creation "
                        "time, UTC when no zone is given), `limit`, and `cursor` from the previous page's "
                        "`next_cursor`.")
async def get_deliveries(subscription_id: str, principal: CurrentPrincipal,
                         status: list[str] | None = Query(None, description="pending, delivered or failed"),
                         since: datetime | None = Query(None, description="Created at or after"),
                         until: datetime | None = Query(None, description="Created before"),
                         limit: int = Query(50, ge=1, le=200),
                         cursor: str | None = Query(None, max_length=300)) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    try:
        page = await asyncio.to_thread(subs.list_delivery_page, subscription=found, states=_states(status),
                                       since=_utc(since), until=_utc(until), limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise bad_cursor() from exc
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/{subscription_id}/replay", status_code=202,
             summary="Send the recorded events of a time range again, under their original webhook ids",
             description="`from` (inclusive) and `to` (exclusive) are times the events were recorded, as `GET "
                         "/v1/events` lists them; only the event types the subscription takes. Each event goes "
                         "out under the `webhook-id` of its first delivery to this subscription, so a receiver "
                         f"drops what it has; asked again before they went out, nothing is queued twice. At most "
                         f"{events_log.REPLAY_MAX} events per call.",
             responses={404: {"description": "Not found"}, 422: {"description": "A range refused, with the rule"}})
async def replay(subscription_id: str, body: ReplayBody, principal: CurrentPrincipal,
                 request: Request) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    try:
        answer = await asyncio.to_thread(events_log.replay, subscription=found, start=body.start, end=body.end)
    except events_log.ReplayTooLarge as exc:
        raise errors.field_refused(
            field="to", rule="replay_max", message=f"to: the range holds {exc}; replay a shorter range",
            message_zh=f"to：该时间段内的事件多于 "
            f"{events_log.REPLAY_MAX} 个，请缩短时间段") from exc
    request.app.state.worker.wake()
    return answer


@router.post("/{subscription_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             summary="Send one delivery again now (same webhook-id)")
async def redeliver(subscription_id: str, delivery_id: str, principal: CurrentPrincipal,
                    request: Request) -> dict[str, str]:
    found = await _found(principal, subscription_id)
    if not await asyncio.to_thread(subs.redeliver, subscription=found, delivery_id=delivery_id):
        raise errors.delivery_not_found()
    request.app.state.worker.wake()
    return {"id": delivery_id, "state": "pending"}
