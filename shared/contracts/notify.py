"""Notify's contracts: what was told to whom, by which channel."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.envelope import Event


class NotificationSent(Event):
    """A notification reached (or was recorded for) one recipient on one channel."""

    type: Literal["NotificationSent"] = "NotificationSent"
    about_event_id: str = Field(title="The event this notification tells about")
    about_event_type: str = Field(title="Its type")
    recipient_role: Literal["complainant", "merchant", "agent", "partner"] = Field(title="Who")
    channel: Literal["email", "sms", "in_app", "webhook"] = Field(title="How")
