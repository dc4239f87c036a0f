#!/bin/sh
# One-shot (service temporal-schema): Temporal's admin tools create Temporal's two databases on the
# shared PostgreSQL and bring their schemas to the version of this image. Safe to run on every
# start: `create` of an existing database is skipped, `update-schema` applies only what is missing.
# Follows Temporal's own compose setup (temporalio/samples-server, compose/scripts/setup-postgres.sh).
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"

for db in temporal temporal_visibility; do
    tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -p $PORT -u $POSTGRES_USER --db $db"
    $tool create || echo "database $db is there already"
    # Version 0.0 only creates the schema_version bookkeeping on a new database.
    $tool setup-schema -v 0.0 || echo "database $db has its schema bookkeeping already"
done
temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" \
    --db temporal update-schema -d "$SCHEMA/temporal/versioned"
temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" \
    --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schemas are up to date"
