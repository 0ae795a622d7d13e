"""The statuses a complaint can show: intake's own and the case states escalation reports."""

from enum import StrEnum


class ComplaintStatus(StrEnum):
    """Where the complaint is in its life, as the complainant sees it."""

    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    AWAITING_EVIDENCE = "awaiting_evidence"
    IN_REVIEW = "in_review"
    AWAITING_MERCHANT = "awaiting_merchant"
    RESOLUTION_PROPOSED = "resolution_proposed"
    PLATFORM_ARBITRATION = "platform_arbitration"
    PAYMENT_CHANNEL_DISPUTE = "payment_channel_dispute"
    EXTERNAL = "external"
    LEGAL = "legal"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


#: A finished complaint no longer blocks a new filing for the same order and takes no statements.
FINISHED = frozenset({ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value, ComplaintStatus.WITHDRAWN.value})
