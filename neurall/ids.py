"""Public IDs are UUIDs: unguessable, so listing someone else's objects by counting fails."""

from __future__ import annotations

import uuid


def parse_id(value: str) -> uuid.UUID | None:
    """The UUID in ``value``, or None when it is not one (treated as "not found")."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
