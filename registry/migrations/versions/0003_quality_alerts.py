"""quality alerts raised by `clipguard audit`

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_alerts",
        sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("suite", sa.String(64), nullable=False),
        sa.Column("check_name", sa.String(64), nullable=False),
        sa.Column("problem", sa.String(256), nullable=False),
        sa.Column("observed", sa.Text, nullable=False),
        sa.Column("window", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quality_alerts")
