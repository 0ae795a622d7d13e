"""The statuses a complaint can show: intake's own and the case states escalation reports."""

from shared.contracts.vocabulary import CaseState as ComplaintStatus

#: A finished complaint no longer blocks a new filing for the same order and takes no statements.
FINISHED = frozenset({ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value, ComplaintStatus.WITHDRAWN.value})
