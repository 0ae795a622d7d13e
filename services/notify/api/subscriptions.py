"""Notify's HTTP routes for partners: webhook subscriptions, secrets, pause, delivery log, redelivery."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notify.adapters.webhook_targets import validate_target
from services.notify.api import errors, views
from services.notify.domain.webhook_targets import TargetRefused
from services.notify.models import Subscription
from services.notify.service import subscriptions as subs
from shared.auth import Principal, Role
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"])


class SubscriptionBody(BaseModel):
    """A webhook endpoint and the event types it wants (empty: every partner event)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    event_types: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=200)

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(subs.PARTNER_EVENTS))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; allowed: {subs.PARTNER_EVENTS}")
        return value


def _partner(principal: Principal) -> str:
    if principal.role is not Role.PARTNER or not principal.platform:
        raise errors.not_a_partner()
    return principal.platform


async def _found(principal: Principal, subscription_id: str) -> Subscription:
    platform = _partner(principal)
    found = await asyncio.to_thread(subs.get_subscription, platform=platform, subscription_id=subscription_id)
    if found is None:
        raise errors.subscription_not_found()
    return found


@router.post("", status_code=201, summary="Subscribe a URL; the signing secret is shown once",
             description="The subscription gets the events notify handles from now on; with several notify "
                         "instances, the others count it within NOTIFY_SUBSCRIPTIONS_MAX_AGE_S (1 s).",
             responses={422: {"description": "URL or filter refused, with the rule"}})
async def post_subscription(body: SubscriptionBody, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    platform = _partner(principal)
    settings = request.app.state.runtime.settings
    try:
        url = await validate_target(url=body.url, allow_private=settings.webhook_allow_private_targets)
    except TargetRefused as exc:
        raise errors.target_refused(exc) from exc
    created, secret = await asyncio.to_thread(subs.create_subscription, platform=platform,
                                              owner=principal.subject, url=url, event_types=body.event_types,
                                              description=body.description,
                                              endpoints=request.app.state.endpoints)
    return views.subscription(created) | {"secret": secret}


@router.get("", summary="The platform's subscriptions (secrets are never listed)")
async def get_subscriptions(principal: CurrentPrincipal) -> dict[str, Any]:
    items = await asyncio.to_thread(subs.list_subscriptions, platform=_partner(principal))
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


@router.post("/{subscription_id}/secret/rotate", summary="New secret, shown once; the old one signs for a grace period")
async def rotate_secret(subscription_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    grace = timedelta(seconds=request.app.state.runtime.settings.webhook_secret_grace_s)
    secret = await asyncio.to_thread(subs.rotate_secret, subscription=found, grace=grace)
    return {"id": found.id, "secret": secret, "previous_secrets_valid_for_s": grace.total_seconds()}


@router.post("/{subscription_id}/resume", summary="Resume a paused endpoint; held deliveries go out")
async def resume(subscription_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    await asyncio.to_thread(subs.resume_subscription, subscription=found)
    request.app.state.worker.wake()
    return views.subscription(await _found(principal, subscription_id))


@router.get("/{subscription_id}/deliveries", summary="Delivery log: every attempt with status, latency, error")
async def get_deliveries(subscription_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    found = await _found(principal, subscription_id)
    return {"items": await asyncio.to_thread(subs.list_deliveries, subscription=found)}


@router.post("/{subscription_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             summary="Send one delivery again now (same webhook-id)")
async def redeliver(subscription_id: str, delivery_id: str, principal: CurrentPrincipal,
                    request: Request) -> dict[str, str]:
    found = await _found(principal, subscription_id)
    if not await asyncio.to_thread(subs.redeliver, subscription=found, delivery_id=delivery_id):
        raise errors.delivery_not_found()
    request.app.state.worker.wake()
    return {"id": delivery_id, "state": "pending"}
