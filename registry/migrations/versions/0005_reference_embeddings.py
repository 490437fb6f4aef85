"""claim references: CLIP embeddings, tagged with the weights that made them

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim_references") as refs:
        refs.add_column(sa.Column("embedding", sa.LargeBinary, nullable=True))
        refs.add_column(sa.Column("embedding_model", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_references") as refs:
        refs.drop_column("embedding_model")
        refs.drop_column("embedding")
