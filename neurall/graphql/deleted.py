"""``Deleted`` and ``DeleteResult``: shared by every delete mutation (history, clones)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from neurall.graphql.errors import Forbidden, NotAuthenticated, NotFound


@strawberry.type(description="How many objects a delete removed.")
class Deleted:
    deleted_count: int


DeleteResult = Annotated[
    Deleted | NotFound | NotAuthenticated | Forbidden, strawberry.union("DeleteResult")
]
