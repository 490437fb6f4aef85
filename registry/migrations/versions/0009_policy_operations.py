"""policy operations: every gate decision's inputs (for backtests), shadow policies' decisions,
the policy versions promoted to live, and remix lineage (each clip's `remix_of` parent, filled in
from the events already stored)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_inputs",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("policy", sa.String(160), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
    )
    op.create_table(
        "shadow_decisions",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("shadow_policy", sa.String(160), primary_key=True),
        sa.Column("live_policy", sa.String(160), nullable=False),
        sa.Column("live_verdict", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_table(
        "policy_versions",
        sa.Column("label", sa.String(160), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_by", sa.String(128), nullable=False),
    )


    op.create_table(
        "remix_edges",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("parent_id", sa.String(128), nullable=False, index=True),
    )
    clips = sa.table("clips", sa.column("clip_id", sa.String), sa.column("event", sa.JSON))
    edges = [{"clip_id": clip_id, "parent_id": event["remix_of"]}
             for clip_id, event in op.get_bind().execute(sa.select(clips.c.clip_id, clips.c.event))
             if isinstance(event, dict) and event.get("remix_of")]
    if edges:
        op.bulk_insert(sa.table("remix_edges", sa.column("clip_id", sa.String), sa.column("parent_id", sa.String)),
                       edges)


def downgrade() -> None:
    op.drop_table("remix_edges")
    op.drop_table("policy_versions")
    op.drop_table("shadow_decisions")
    op.drop_table("decision_inputs")
