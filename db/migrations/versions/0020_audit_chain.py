"""the audit log's hash chain: a chain per location (and "central"), each row carrying its
predecessor's hash and its own; the chain heads (audit_chains); existing rows chained in id order;
audit_log also refuses TRUNCATE, and a chain head only moves forward

Revision ID: 0020_audit_chain
Revises: 0014_backoffice
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.audit_chain import (
    CENTRAL,
    ChainedFields,
    chain_name_for,
    genesis_hash,
    location_hint,
    row_hash,
)

revision = "0020_audit_chain"
down_revision = "0014_backoffice"
branch_labels = ("audit_chain",)
depends_on = None


class _Head:
    """A chain's head while the backfill walks its rows (no dataclass: Alembic loads this module
    outside sys.modules)."""

    def __init__(self, chain: str, last_id: int | None, last_hash: str, rows: int) -> None:
        self.chain, self.last_id, self.last_hash, self.rows = chain, last_id, last_hash, rows


def _chain_existing_rows(conn: sa.Connection) -> None:
    """Chain the rows written before this migration, in id order, exactly as the application
    appends new ones (the same canonical form and hash)."""
    tills: dict[str, int] = dict(conn.execute(sa.text("SELECT code, location_id FROM tills")).all())
    places: dict[str, int] = dict(conn.execute(sa.text("SELECT code, id FROM locations")).all())
    codes = {lid: code for code, lid in places.items()}
    heads: dict[int | None, _Head] = {}
    names: set[str] = set()
    rows = conn.execute(
        sa.text(
            "SELECT id, at, actor_user_id, action, subject, workflow_id, detail, "
            "detail::text AS detail_json FROM audit_log ORDER BY id"
        )
    )
    for r in rows.mappings().all():
        hint = location_hint(r["subject"], r["detail"] or {})
        if isinstance(hint, int) or hint is None:
            location_id = hint
        else:
            kind, code = hint
            location_id = tills.get(code) if kind == "till" else places.get(code)
        if location_id not in heads:
            name = chain_name_for(codes.get(location_id or -1), location_id, False)
            if name in names:
                name = chain_name_for(codes.get(location_id or -1), location_id, True)
            names.add(name)
            heads[location_id] = _Head(name, None, genesis_hash(name), 0)
        head = heads[location_id]
        chain, prev = head.chain, head.last_hash
        digest = row_hash(
            ChainedFields(
                chain=chain,
                id=r["id"],
                at=r["at"],
                actor_user_id=r["actor_user_id"],
                location_id=location_id,
                action=r["action"],
                subject=r["subject"],
                workflow_id=r["workflow_id"],
                detail_json=r["detail_json"],
                prev_hash=prev,
            )
        )
        conn.execute(
            sa.text(
                "UPDATE audit_log SET location_id = :lid, chain = :chain, prev_hash = :prev, "
                "row_hash = :digest WHERE id = :id"
            ),
            {"lid": location_id, "chain": chain, "prev": prev, "digest": digest, "id": r["id"]},
        )
        head.last_id, head.last_hash, head.rows = r["id"], digest, head.rows + 1
    for location_id, head in heads.items():
        conn.execute(
            sa.text(
                "INSERT INTO audit_chains (chain, location_id, last_id, last_hash, rows) "
                "VALUES (:chain, :lid, :last_id, :last_hash, :rows)"
            ),
            {
                "chain": head.chain,
                "lid": location_id,
                "last_id": head.last_id,
                "last_hash": head.last_hash,
                "rows": head.rows,
            },
        )
    if None not in heads:
        conn.execute(
            sa.text(
                "INSERT INTO audit_chains (chain, location_id, last_id, last_hash, rows) "
                "VALUES (:chain, NULL, NULL, :hash, 0)"
            ),
            {"chain": CENTRAL, "hash": genesis_hash(CENTRAL)},
        )


def upgrade() -> None:
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("last_id", sa.BigInteger(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chains")),
        sa.UniqueConstraint("location_id", name=op.f("uq_audit_chains_location_id")),
    )
    for column in (
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("chain", sa.String(length=40), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
    ):
        op.add_column("audit_log", column)
    # The append-only trigger (0001) refuses the one-off backfill: lifted for it alone, in this
    # transaction, so no other writer ever sees audit_log without it.
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    _chain_existing_rows(op.get_bind())
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    for name in ("chain", "prev_hash", "row_hash"):
        op.alter_column("audit_log", name, nullable=False)
    op.create_unique_constraint(
        op.f("uq_audit_log_chain_prev_hash"), "audit_log", ["chain", "prev_hash"]
    )
    op.create_index("ix_audit_log_chain_id", "audit_log", ["chain", "id"], unique=False)
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION tillflow_append_only()"
    )
    op.execute(
        """
        CREATE FUNCTION tillflow_audit_head_forward() RETURNS trigger AS $$
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION 'audit_chains: a chain head is never deleted';
            END IF;
            IF NEW.chain <> OLD.chain
               OR NEW.location_id IS DISTINCT FROM OLD.location_id
               OR NEW.rows <> OLD.rows + 1
               OR NEW.last_id IS NULL
               OR NEW.last_id <= COALESCE(OLD.last_id, 0) THEN
                RAISE EXCEPTION 'audit_chains: a chain head only moves forward, one row at a time';
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER audit_chains_forward BEFORE UPDATE OR DELETE ON audit_chains "
        "FOR EACH ROW EXECUTE FUNCTION tillflow_audit_head_forward()"
    )
    op.execute(
        "CREATE TRIGGER audit_chains_no_truncate BEFORE TRUNCATE ON audit_chains "
        "FOR EACH STATEMENT EXECUTE FUNCTION tillflow_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_chains_no_truncate ON audit_chains")
    op.execute("DROP TRIGGER IF EXISTS audit_chains_forward ON audit_chains")
    op.execute("DROP FUNCTION IF EXISTS tillflow_audit_head_forward()")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_index("ix_audit_log_chain_id", table_name="audit_log")
    op.drop_constraint(op.f("uq_audit_log_chain_prev_hash"), "audit_log", type_="unique")
    for name in ("row_hash", "prev_hash", "chain", "location_id"):
        op.drop_column("audit_log", name)
    op.drop_table("audit_chains")
