#!/usr/bin/env bash
# Writes a migration for model changes, using Tortoise ORM's own migration framework
# against a throwaway SQLite database (the generated file applies to PostgreSQL too).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/neurall_makemigrations_config.py" <<PY
from neurall.orm.config import tortoise_config
TORTOISE_ORM = tortoise_config("sqlite://$tmp/db.sqlite3")
PY
PYTHONPATH="$tmp" .venv/bin/tortoise -c neurall_makemigrations_config.TORTOISE_ORM makemigrations "$@"
