"""Remove content left behind by uploads a crash cut short: chunks without a file, files without an item."""

from __future__ import annotations

from datetime import timedelta

from services.evidence.repository import content


def sweep_orphans(*, older_than: timedelta) -> int:
    """Delete stored content no evidence item owns, once older than `older_than`; return how many."""
    return content.delete_orphans(older_than=older_than)
