#!/bin/sh
# Runs once, when the postgres container starts on an empty data volume: the role Temporal's server
# and admin tools use (its own password, allowed to create its two databases). On a data volume
# made before this script existed, run the same statement by hand (docs/operations.md).
set -eu
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is required}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE temporal LOGIN CREATEDB PASSWORD %L', :'pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal')\gexec
SQL
