"""The Tortoise configuration, built from a database URL.

One app, ``neurall``, holds every model; its migrations live in ``neurall.orm.migrations``
and are generated with ``make makemigrations`` (scripts/makemigrations.sh: Tortoise's own
migration framework), so one migration file applies on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

APP_LABEL = "neurall"
MODEL_MODULES = [
    "neurall.orm.accounts",
    "neurall.orm.jobs",
    "neurall.orm.billing",
    "neurall.orm.audit",
    "neurall.orm.privacy",
    "neurall.orm.clones",
    "neurall.orm.ratelimit",
    "neurall.orm.mail",
    "neurall.orm.webhooks",
    "neurall.orm.events",
]
MIGRATIONS_MODULE = "neurall.orm.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    # Tortoise's asyncpg backend reads the postgres:// scheme; accept the common spelling too.
    url = database_url.replace("postgresql://", "postgres://", 1)
    return {
        "connections": {"default": url},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }
