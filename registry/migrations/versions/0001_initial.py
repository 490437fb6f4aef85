"""decisions, stored clip signals, claims and their reference hashes

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("creator_id", sa.String(128), nullable=False, index=True),
        sa.Column("verdict", sa.String(16), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_table(
        "clip_signals",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("signal", sa.String(32), primary_key=True),
        sa.Column("creator_id", sa.String(128), nullable=False, index=True),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "claims",
        sa.Column("claim_id", sa.String(64), primary_key=True),
        sa.Column("holder_id", sa.String(128), nullable=False, index=True),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "claim_references",
        sa.Column("reference_id", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(64), sa.ForeignKey("claims.claim_id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("pdq", sa.String(64), nullable=False),
        sa.Column("phash", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("claim_references")
    op.drop_table("claims")
    op.drop_table("clip_signals")
    op.drop_table("decisions")
