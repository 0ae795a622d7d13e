"""Escalation's HTTP routes: the work queue, cases and their actions, and analytics."""

from services.escalation.api.analytics import router as analytics_router
from services.escalation.api.cases import router as cases_router
from services.escalation.api.queue import router as queue_router

__all__ = ["analytics_router", "cases_router", "queue_router"]
