#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the services the test suite and the
# distributed form need: PostgreSQL 15 and RabbitMQ, and what the playground's browser tests
# need: Chromium and Node.js. Idempotent: safe to run again.
# Runs as root on Debian 12; there is no systemd here, so the servers are started directly.
set -euo pipefail

PG_USER=${NEURALL_PG_USER:-neurall}
PG_PASSWORD=${NEURALL_PG_PASSWORD:-neurall}

need_install=()
command -v pg_ctlcluster >/dev/null || need_install+=(postgresql)
command -v rabbitmq-server >/dev/null || need_install+=(rabbitmq-server)
# The playground's browser tests drive Debian's Chromium (never a downloaded browser);
# Node.js builds the playground (Debian 12's own 18 is enough; a newer one is kept).
command -v chromium >/dev/null || need_install+=(chromium)
command -v node >/dev/null || need_install+=(nodejs)
command -v npm >/dev/null || need_install+=(npm)
if [ ${#need_install[@]} -gt 0 ]; then
  echo "services: installing ${need_install[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

# PostgreSQL: the first cluster Debian created (15/main on Debian 12).
read -r PG_VERSION PG_CLUSTER _ < <(pg_lsclusters --no-header | head -n 1)
if ! pg_lsclusters --no-header | head -n 1 | grep -q online; then
  pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""

# RabbitMQ. consumer_timeout must exceed every actor's time limit (the longest is
# training's); the default 30 minutes is kept and the actors stay under it.
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  rabbitmq-server -detached
  for _ in $(seq 1 60); do
    rabbitmqctl -q status >/dev/null 2>&1 && break
    sleep 1
  done
fi
rabbitmqctl -q await_startup
echo "services: PostgreSQL and RabbitMQ are up"
