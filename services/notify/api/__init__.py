"""Notify's HTTP routes: the reader's inbox and preferences, and partners' webhook subscriptions."""

from services.notify.api.inbox import router as inbox_router
from services.notify.api.subscriptions import router as subscriptions_router

__all__ = ["inbox_router", "subscriptions_router"]
