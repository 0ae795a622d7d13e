"""FileComplaint commands from platforms: file, answer on the reply topic, answer repeats the same way.

Each answer names its platform (the command's complaint's `platform`) and is keyed
`platform:reference`: two platforms using one reference get two answers that never share a key,
and a platform reads its own under the key prefix `platform:` (docs/architecture.md, intake).
On the topic an answer is a CloudEvents 1.0 record in structured mode, like the public status topic:
type org.complaints-suite.filing.accepted.v1 or .rejected.v1, subject `platform:reference`, and data
as that type's public JSON Schema says (shared/contracts/public.py)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import ValidationError

from services.intake import repository
from services.intake.config import IntakeSettings
from services.intake.domain.errors import validation_errors
from services.intake.domain.remedies import DemandRefused
from services.intake.domain.schemas import NewComplaint
from services.intake.models import CommandReply
from services.intake.service.filing import (
    AnswerExists,
    Filing,
    FilingDesk,
    file_complaint,
)
from shared.contracts import public
from shared.contracts.complaints import (
    ComplaintAccepted,
    ComplaintRejected,
    FileComplaint,
)
from shared.envelope import Message, new_id, utcnow
from shared.idempotency import fingerprint
from shared.outbox import emit_raw
from shared.store import DuplicateKey, UnitOfWork

_REPLIES: dict[str, type[Message]] = {"ComplaintAccepted": ComplaintAccepted, "ComplaintRejected": ComplaintRejected}
ROUTE = "kafka:FileComplaint"


def _reply_id(platform: str, reference: str) -> str:
    return hashlib.sha256(f"{platform}\x1f{reference}".encode()).hexdigest()


def _platform(command: FileComplaint) -> str:
    value = command.complaint.get("platform")
    return value if isinstance(value, str) else ""


def reply_data(reply: Message, *, complaint_id: str | None) -> dict[str, Any]:
    """The reply's fields as the public schema of its type wants them (codes, ticket, errors; no PII)."""
    if isinstance(reply, ComplaintAccepted):
        return {"occurred_at": public.rfc3339(reply.occurred_at), "platform": reply.platform,
                "platform_reference": reply.platform_reference, "ticket": reply.ticket,
                "already_existed": reply.already_existed, "complaint_id": complaint_id}
    if isinstance(reply, ComplaintRejected):
        # The schema's `message` is the English one; message_en and message_zh stay beside it.
        return {"occurred_at": public.rfc3339(reply.occurred_at), "platform": reply.platform,
                "platform_reference": reply.platform_reference,
                "errors": [{"message": error.get("message_en", error.get("message", error["rule"])), **error}
                           for error in reply.errors]}
    raise TypeError(f"{reply.type} is not a reply to FileComplaint")


def reply_event(reply: Message, *, complaint_id: str | None) -> str:
    """The reply as the replies topic's record value: the CloudEvent JSON, id stable per reply."""
    return public.to_json(public.cloud_event(
        event_type=public.REPLY_TYPES[reply.type], subject=reply.key(),
        data=reply_data(reply, complaint_id=complaint_id), time=reply.occurred_at, key=reply.event_id))


def _emit_reply(tx: UnitOfWork, *, reply: Message, topic: str, complaint_id: str | None) -> None:
    emit_raw(tx, topic=topic, entry_id=reply.event_id, key=reply.key(), message_type=reply.type,
             payload=reply_event(reply, complaint_id=complaint_id), kafka_headers=public.KAFKA_HEADERS)


def _store_and_emit(tx: UnitOfWork, *, command: FileComplaint, reply: Message, topic: str,
                    complaint_id: str | None = None) -> None:
    tx.insert(CommandReply(
        id=_reply_id(_platform(command), command.platform_reference), platform=_platform(command),
        platform_reference=command.platform_reference, fingerprint=fingerprint(body=command.complaint, route=ROUTE),
        message_type=reply.type, payload=reply.model_dump_json(), created_at=utcnow()))
    _emit_reply(tx, reply=reply, topic=topic, complaint_id=complaint_id)


def _answer_again(uow: UnitOfWork, *, command: FileComplaint, topic: str) -> Message:
    stored = repository.replies.load_reply(reply_id=_reply_id(_platform(command), command.platform_reference))
    if stored.fingerprint != fingerprint(body=command.complaint, route=ROUTE):
        reply: Message = ComplaintRejected(platform=_platform(command), platform_reference=command.platform_reference,
                                           errors=[{
            "field": "platform_reference", "rule": "reference_reused",
            "message_en": "This platform reference was already used for a different complaint",
            "message_zh": "该平台参考号已用于另一条不同的投诉"}])
    else:
        # An answer stored before replies named their platform takes it from the stored record.
        previous = _REPLIES[stored.message_type].model_validate({"platform": stored.platform,
                                                                  **json.loads(stored.payload)})
        reply = previous.model_copy(update={"event_id": new_id(), "occurred_at": utcnow()})
    complaint_id = _complaint_id(reply)
    uow.transaction(lambda tx: _emit_reply(tx, reply=reply, topic=topic, complaint_id=complaint_id))
    return reply


def _complaint_id(reply: Message) -> str | None:
    """The id of the complaint an acceptance is about (the stored answer holds its ticket only)."""
    if not isinstance(reply, ComplaintAccepted):
        return None
    complaint = repository.complaints.get_complaint(ticket=reply.ticket)
    return None if complaint is None else str(complaint.id)


def handle_file_complaint(uow: UnitOfWork, *, desk: FilingDesk, command: FileComplaint,
                          settings: IntakeSettings) -> Message:
    """File the command's complaint as its platform's partner and answer; a repeat gets the first answer."""
    topic = settings.topics.intake_replies
    reference = command.platform_reference
    if repository.replies.get_reply(reply_id=_reply_id(_platform(command), reference)) is not None:
        return _answer_again(uow, command=command, topic=topic)
    try:
        request = NewComplaint.model_validate(command.complaint)
    except ValidationError as exc:
        return _reject(uow, command=command, errors=validation_errors(exc=exc), topic=topic)
    replies: list[Message] = []

    def answer(tx: UnitOfWork, filing: Filing) -> None:
        accepted = ComplaintAccepted(platform=request.platform, platform_reference=reference,
                                     ticket=filing.complaint.ticket,
                                     already_existed=filing.already_existed)
        _store_and_emit(tx, command=command, reply=accepted, topic=topic, complaint_id=str(filing.complaint.id))
        replies.append(accepted)

    filed_by: dict[str, Any] = {"subject": f"platform:{request.platform}", "role": "partner",
                                "platform": request.platform}
    try:
        file_complaint(uow, desk=desk, request=request, settings=settings, filed_by=filed_by, source="kafka",
                       platform_reference=reference, answer=answer)
    except DemandRefused as refused:
        return _reject(uow, command=command, errors=[refused.entry()], topic=topic)
    except AnswerExists:
        return _answer_again(uow, command=command, topic=topic)
    return replies[-1]


def _reject(uow: UnitOfWork, *, command: FileComplaint, errors: list[dict[str, str]], topic: str) -> Message:
    """Answer ComplaintRejected with the field errors, stored so that a repeat gets the same answer."""
    rejected = ComplaintRejected(platform=_platform(command), platform_reference=command.platform_reference,
                                 errors=errors)
    try:
        uow.transaction(lambda tx: _store_and_emit(tx, command=command, reply=rejected, topic=topic))
    except DuplicateKey:
        return _answer_again(uow, command=command, topic=topic)
    return rejected
