"""Token buckets shared by several API processes (NEURALL_RATE_LIMIT_BACKEND=database).

One row per bucket key (``<limit>:<account or key id>``). ``neurall.ratelimit`` updates a
row in one atomic upsert, so concurrent requests on different processes never both spend
the last token. Rows of idle buckets are deleted by a retention policy.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class RateLimitBucket(Model):
    key = fields.CharField(max_length=200, primary_key=True)
    tokens = fields.FloatField()
    # Seconds since the epoch: the refill arithmetic runs in SQL on plain numbers.
    updated_at = fields.FloatField(db_index=True)

    class Meta:
        table = "rate_limit_bucket"
