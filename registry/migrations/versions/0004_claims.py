"""claims: aliases, withdrawal, history, reference media and ORB features, matches for holders

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as claims:
        claims.add_column(sa.Column("aliases", sa.JSON, nullable=False, server_default="[]"))
        claims.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("claim_references") as refs:
        refs.add_column(sa.Column("media_kind", sa.String(8), nullable=False, server_default="image"))
        refs.add_column(sa.Column("media_sha256", sa.String(64), nullable=False, server_default=""))
        refs.add_column(sa.Column("orb", sa.LargeBinary, nullable=True))
    op.create_table(
        "claim_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.claim_id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "claim_matches",
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.claim_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("reference_id", sa.String(64), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("measure", sa.Float, nullable=False),
        sa.Column("frame", sa.Integer, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("claim_matches")
    op.drop_table("claim_events")
    with op.batch_alter_table("claim_references") as refs:
        for column in ("orb", "media_sha256", "media_kind"):
            refs.drop_column(column)
    with op.batch_alter_table("claims") as claims:
        claims.drop_column("withdrawn_at")
        claims.drop_column("aliases")
