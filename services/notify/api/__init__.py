"""Notify's HTTP routes: the reader's inbox and preferences, partners' webhook subscriptions and events list."""

from services.notify.api.events import router as events_router
from services.notify.api.inbox import router as inbox_router
from services.notify.api.subscriptions import router as subscriptions_router

__all__ = ["events_router", "inbox_router", "subscriptions_router"]
