"""The stored answers to platforms' FileComplaint commands, one per platform and reference."""

from __future__ import annotations

from services.intake.models import CommandReply


def get_reply(*, reply_id: str) -> CommandReply | None:
    """The answer stored under this id, or None when the command was never answered."""
    return CommandReply.objects(id=reply_id).first()


def load_reply(*, reply_id: str) -> CommandReply:
    """The answer stored under this id, which must exist (DoesNotExist otherwise)."""
    return CommandReply.objects(id=reply_id).get()
