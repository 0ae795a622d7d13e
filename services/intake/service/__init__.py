"""Intake's logic: filing, reading and changing complaints, platform commands, other services' steps."""

from services.intake.domain.remedies import DemandRefused
from services.intake.service.changes import (
    NotOpen,
    OpenTwin,
    add_statement,
    correct_category,
    withdraw_complaint,
)
from services.intake.service.commands import handle_file_complaint
from services.intake.service.filing import (
    AnswerExists,
    Filing,
    FilingDesk,
    file_complaint,
)
from services.intake.service.reading import get_complaint, list_complaints
from services.intake.service.timeline import record_step, steps_of

__all__ = [
    "AnswerExists", "DemandRefused", "Filing", "FilingDesk", "NotOpen", "OpenTwin", "add_statement", "correct_category",
    "file_complaint",
    "get_complaint", "handle_file_complaint", "list_complaints", "record_step",
    "steps_of", "withdraw_complaint",
]
