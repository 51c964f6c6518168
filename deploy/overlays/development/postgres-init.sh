#!/usr/bin/env bash
# Development only: runs deploy/base/postgres-roles.sql with the development passwords when the
# in-cluster PostgreSQL initialises its empty data directory (docs/deployment.md, "PostgreSQL roles").
set -euo pipefail
password() { cat "/run/secrets/postgres-roles/$1"; }
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v identity_password="$(password identity)" \
  -v chat_password="$(password chat)" \
  -v agent_password="$(password agent)" \
  -v mcp_server_password="$(password mcp_server)" \
  -f /etc/support-ext/sql/postgres-roles.sql
