"""Wire contracts: every event and command on the suite's topics. Partners read these schemas."""

from shared.contracts import complaints, escalation, evidence, notify

__all__ = ["complaints", "escalation", "evidence", "notify"]
