"""hash banks: shared lists of known harmful content's hashes, their entries and history, the
clips that matched them, and the queue of matches to report

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("report", sa.Boolean, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("pdq_threshold", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "bank_entries",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(128), sa.ForeignKey("banks.name", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("signal", sa.Text, nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("source_id", sa.String(256), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "bank_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(128), sa.ForeignKey("banks.name", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "bank_matches",
        sa.Column("match_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bank", sa.String(128), nullable=False, index=True),
        sa.Column("entry_id", sa.Integer, nullable=False, index=True),
        sa.Column("clip_id", sa.String(128), nullable=False, index=True),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("distance", sa.Float, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        "bank_reports",
        sa.Column("report_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("match_id", sa.Integer, nullable=False, index=True),
        sa.Column("bank", sa.String(128), nullable=False, index=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in ("bank_reports", "bank_matches", "bank_events", "bank_entries", "banks"):
        op.drop_table(table)
