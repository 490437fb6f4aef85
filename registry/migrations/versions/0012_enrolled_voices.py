"""enrolled embeddings say what they were made from: a face (photo, clip) or a voice (recording)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("face_embeddings") as embeddings:
        embeddings.add_column(sa.Column("medium", sa.String(8), nullable=False, server_default="face"))


def downgrade() -> None:
    with op.batch_alter_table("face_embeddings") as embeddings:
        embeddings.drop_column("medium")
