"""Evidence's payment-record route: a channel or platform publishes what it knows of a transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.evidence.service import channel
from shared.app import unit_of_work
from shared.auth import Role
from shared.contracts.evidence import PaymentRecordPublished
from shared.http_auth import CurrentPrincipal
from shared.money import Money
from shared.store import UnitOfWork

router = APIRouter(tags=["evidence"])


class PaymentRecordBody(BaseModel):
    """A payment record as a partner posts it."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(title="Channel or platform id", min_length=1, max_length=128)
    transaction_id: str = Field(title="The channel's transaction id", min_length=1,
                                max_length=128)
    order_number: str = Field(title="Order number", min_length=1, max_length=64)
    amount: Money = Field(title="Amount")
    status: str = Field(title="paid, refunded, closed, failed or pending",
                        pattern="^(paid|refunded|closed|failed|pending)$")
    at: AwareDatetime = Field(title="When the status was reached")


@router.post("/v1/payment-records", status_code=202, tags=["payment records"],
             summary="A channel or platform publishes what it knows of a transaction")
def create_payment_record(body: PaymentRecordBody, principal: CurrentPrincipal,
                          request: Request, uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> dict[str, Any]:
    if principal.role not in (Role.PARTNER, Role.AGENT):
        raise HTTPException(status_code=403, detail={
            "field": "role", "rule": "partner_or_agent",
            "message": "only partners and agents publish payment records",
            "message_zh": "只有合作方或平台客服可以提交支付记录"})
    settings = request.app.state.runtime.settings
    message = PaymentRecordPublished(**body.model_dump())
    checked = channel.apply_record(uow, message=message, topic=settings.topics.evidence_events,
                                   consumer=f"{settings.service_name}-http",
                                   window=timedelta(hours=settings.relevance_window_hours),
                                   posted_by={"via": "http", "subject": principal.subject,
                                              "role": principal.role.value,
                                              "platform": principal.platform})
    request.app.state.runtime.relay.wake()
    return {"transaction_id": body.transaction_id, "proofs_checked": checked}
