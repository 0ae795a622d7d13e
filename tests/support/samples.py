"""Sample complaints from tests/data, dated as if paid an hour ago.

The files carry fixed dates, which age: a payment more than seven days old makes escalation open
the case with the buyer's complaint window already lapsed (an extra breach, extra notices), and
the tests and benches that take a sample mean an ordinary, fresh complaint."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.contracts.escalation import ComplaintStatusChanged

DATA = Path(__file__).resolve().parents[1] / "data"


def sample_complaint(name: str = "intake/complaint_zh.json", **changes: Any) -> dict[str, Any]:
    """A sample (path under tests/data) paid an hour ago, with dotted-path changes applied after.

    A change like {"order.number": "X"} sets a value; the value Ellipsis (...) deletes the key."""
    loaded = json.loads((DATA / name).read_text(encoding="utf-8"))
    paid = datetime.now(UTC) - timedelta(hours=1)
    put(loaded, "order.paid_at", paid.isoformat())
    if "occurred_at" in loaded.get("description", {}):
        put(loaded, "description.occurred_at", (paid + timedelta(minutes=5)).isoformat())
    for dotted, value in changes.items():
        put(loaded, dotted.replace("__", "."), value)
    return loaded


def put(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set (or with value ... delete) a dotted path inside a nested dict."""
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    if value is ...:
        target.pop(last, None)
    else:
        target[last] = copy.deepcopy(value)


def status_change(complaint: int, to_state: str = "acknowledged") -> ComplaintStatusChanged:
    """Escalation's status change of complaint `c-<complaint>` from filed, at the internal tier."""
    return ComplaintStatusChanged(complaint_id=f"c-{complaint}", ticket=f"CP-20261123-{complaint:06d}",
                                  from_state="filed", to_state=to_state, tier="internal")
