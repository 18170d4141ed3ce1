#!/usr/bin/env bash
# Installs Node.js and npm from Debian's packages (Node 18 on Debian 12) when node is
# missing: the playground web app builds with it. Idempotent.
set -euo pipefail
if command -v node >/dev/null && command -v npm >/dev/null; then
  exit 0
fi
echo "node: installing nodejs and npm"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq nodejs npm >/dev/null
