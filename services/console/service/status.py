"""The complainant's status page: a signed link turned into a short session, and what the page shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.adapters.apis import ApiError, Apis
from services.console.domain.actions import complainant_actions
from services.console.domain.evidence_forms import upload_declaration
from services.console.domain.session import Session
from shared.auth import mint_token
from shared.status_link import verify_link

#: Where a complainant goes for each of their own windows (the clock names of escalation's policy).
WHERE_TO_GO = {
    "payment_channel_dispute": ("在支付宝/微信支付的账单详情中发起交易投诉。",
                                "Open a dispute from the transaction in Alipay or WeChat Pay."),
    "chargeback": ("联系发卡银行申请拒付（信用卡）。", "Ask your card's bank for a chargeback."),
    "complaint_window": ("在平台订单页提交补单申请。",
                         "Ask for the missing top-up (补单) on the platform's order page."),
    "evidence_upload": ("在本页上传所需证据。", "Upload the evidence asked for on this page."),
}


def open_link(*, link_secret: str, auth_secret: str, token: str, minutes: float) -> Session:
    """A session for one ticket from a valid status link, holding a short complainant token
    (LinkError when the link is forged, altered or expired)."""
    link = verify_link(secret=link_secret, token=token)
    ttl = min(timedelta(minutes=minutes), link.expires_at - datetime.now(UTC))
    api_token = mint_token(secret=auth_secret, subject=link.complainant_id, role="complainant",
                           platform=link.platform, ttl=ttl, ticket=link.ticket)
    return Session(token=api_token, subject=link.complainant_id, role="complainant", platform=link.platform,
                   expires_at=int((datetime.now(UTC) + ttl).timestamp()), ticket=link.ticket)


def status_page(apis: Apis, *, session: Session) -> dict[str, Any]:
    """Status, next step and deadline, checklist, offer, allowed answers and the buyer's own windows."""
    ticket, token = str(session.ticket), session.token
    case = apis.case(token=token, ticket=ticket)
    complaint = apis.complaint(token=token, ticket=ticket)
    try:
        evidence = apis.evidence(token=token, ticket=ticket)["items"]
    except ApiError:
        evidence = []
    duties = [d for d in case.get("must_act_now", []) if d.get("party") == "complainant"]
    missing = [m.get("field") for m in ((case.get("evidence") or {}).get("missing") or [])]
    wanted = list(dict.fromkeys([*case.get("requested_evidence", []), *[m for m in missing if m]]))
    own = [c for c in case.get("clocks", []) if c.get("owner") == "complainant" and c.get("status") != "stopped"]
    return {"case": case, "complaint": complaint, "duties": duties, "evidence": evidence,
            "checklist": [{"item": item, "requested": item in case.get("requested_evidence", [])} for item in wanted],
            "offered": complainant_actions(case=case),
            "deadlines": [{**c, "where": WHERE_TO_GO.get(c["name"])} for c in own]}


def upload(apis: Apis, *, session: Session, item: str, filename: str, content: bytes,
           content_type: str) -> dict[str, Any]:
    """Submit a photo or file for one checklist item, declared from the complainant's own order."""
    ticket = str(session.ticket)
    order = apis.complaint(token=session.token, ticket=ticket).get("order") or {}
    kind, fields = upload_declaration(item=item, order=order)
    return apis.upload(token=session.token, ticket=ticket, kind=kind, fields_json=json.dumps(fields),
                       filename=filename or "photo.jpg", content=content,
                       content_type=content_type or "application/octet-stream")
