"""Escalation's HTTP routes: cases and their actions, and analytics."""

from services.escalation.api.analytics import router as analytics_router
from services.escalation.api.cases import router as cases_router

__all__ = ["analytics_router", "cases_router"]
