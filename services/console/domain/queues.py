"""The agent's queues, each as the work-queue filters that select it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.domain.actions import ACTIVE, TIERS, WAITING_ON_COMPLAINANT

NAMES = ("mine", "unassigned", "breaching", "breached", "waiting", "all")


def queue_filters(*, name: str, breaching_hours: float, now: datetime | None = None) -> dict[str, Any]:
    """The GET /v1/cases parameters of a queue (a tier's queue is named tier:<tier>)."""
    now = now or datetime.now(UTC)
    if name.startswith("tier:") and name[5:] in (*TIERS, "automatic"):
        return {"tier": name[5:]}
    chosen: dict[str, dict[str, Any]] = {
        "mine": {"assignee": "me", "state": list(ACTIVE)},
        "unassigned": {"assignee": "none", "state": list(ACTIVE)},
        "breaching": {"breached": "false", "state": list(ACTIVE),
                      "due_before": (now + timedelta(hours=breaching_hours)).isoformat()},
        "breached": {"breached": "true", "state": list(ACTIVE)},
        "waiting": {"state": list(WAITING_ON_COMPLAINANT)},
    }
    return chosen.get(name, {})


def known(name: str) -> bool:
    """Whether a queue name is one of ours."""
    return name in NAMES or (name.startswith("tier:") and name[5:] in (*TIERS, "automatic"))
