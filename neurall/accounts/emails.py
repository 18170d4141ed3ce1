"""E-mail address normalisation: one account per address, however it is typed."""

from __future__ import annotations

import re
import unicodedata

from neurall.errors import InvalidInputError

MAX_LENGTH = 320
# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is proven by
# mail, not by a regular expression.
_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str, field: str = "input.email") -> str:
    """Trim, NFC-normalise and lower-case; reject what cannot be an address."""
    email = unicodedata.normalize("NFC", raw.strip()).lower()
    if len(email) > MAX_LENGTH or not _SHAPE.match(email):
        raise InvalidInputError("Enter a valid e-mail address.", [field])
    return email
