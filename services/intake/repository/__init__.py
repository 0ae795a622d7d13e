"""Intake's store: every query and write of its documents, and what the embedded store makes of them.

- `complaints`: complaints by ticket or page, and the guarded changes of an open one.
- `slots`: the open-complaint slots (the dedup guard) and the merchants' tallies they feed.
- `steps`: other services' steps, the status they show on the complaint, the waits they end.
- `waits`: what the reconciler waits for, and its queries.
- `tickets`: the day's ticket numbers, reserved a block at a time.
- `replies`: the stored answers to platforms' FileComplaint commands.
"""

from services.intake.repository import complaints, replies, slots, steps, tickets, waits

__all__ = ["complaints", "replies", "slots", "steps", "tickets", "waits"]
