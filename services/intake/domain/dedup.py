"""The deduplication key of a complaint: same complainant, platform, order and category."""

import hashlib
from typing import NamedTuple


class DedupKey(NamedTuple):
    """What makes two open complaints the same complaint."""

    complainant_id: str
    platform: str
    order_number: str
    category: str

    def as_filter(self) -> dict[str, str]:
        """Plain-equality store filter for complaints sharing this key."""
        return {"complainant.id": self.complainant_id, "platform": self.platform,
                "order.number": self.order_number, "category": self.category}

    def digest(self) -> str:
        """Stable SHA-256 hex of the key, for a unique index on open complaints."""
        # Unit separators cannot occur in the validated parts, so the join is unambiguous.
        return hashlib.sha256("\x1f".join(self).encode("utf-8")).hexdigest()


def dedup_key(*, complainant_id: str, platform: str, order_number: str, category: str) -> DedupKey:
    """Build the key; order numbers are compared as filed, minus surrounding spaces."""
    return DedupKey(complainant_id, platform, order_number.strip(), str(category))
