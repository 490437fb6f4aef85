"""faces: public figures, cameo owners with permissions and history, mutuals, enrolled embeddings,
and the clips each enrolled person was seen in

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "figures",
        sa.Column("figure_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("cameo_user", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "cameos",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.Column("approved", sa.JSON, nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cameo_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(128), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "mutuals",
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("other_id", sa.String(128), primary_key=True),
    )
    op.create_table(
        "face_embeddings",
        sa.Column("embedding_id", sa.String(64), primary_key=True),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("media_sha256", sa.String(64), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_face_embeddings_subject", "face_embeddings", ["subject_kind", "subject_id"])
    op.create_table(
        "face_sightings",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("subject_kind", sa.String(8), primary_key=True),
        sa.Column("subject_id", sa.String(128), primary_key=True),
        sa.Column("creator_id", sa.String(128), nullable=False),
        sa.Column("distance", sa.Float, nullable=False),
        sa.Column("frame", sa.Integer, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_index("ix_face_sightings_subject", "face_sightings", ["subject_kind", "subject_id"])


def downgrade() -> None:
    for table in ("face_sightings", "face_embeddings", "mutuals", "cameo_events", "cameos", "figures"):
        op.drop_table(table)
