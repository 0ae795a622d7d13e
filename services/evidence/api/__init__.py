"""Evidence's HTTP side: routes, the JSON they answer with, refusals as HTTP errors, the upload size guard."""

from services.evidence.api.checks import router as checks_router
from services.evidence.api.evidence import router as evidence_router
from services.evidence.api.payment_records import router as payment_records_router

__all__ = ["checks_router", "evidence_router", "payment_records_router"]
