"""claim references: a recording's spectral landmarks, for the music family

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_references") as refs:
        refs.add_column(sa.Column("audio", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_references") as refs:
        refs.drop_column("audio")
