"""console and review queue: accounts, tokens, sessions, review items, audit log, decision
history, clip events and frame thumbnails, reference thumbnails

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("claim_references", sa.Column("thumbnail", sa.LargeBinary, nullable=True))
    op.create_table(
        "decision_history",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("clip_id", sa.String(128), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("decided_at", TZ, nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_table(
        "clips",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("creator_id", sa.String(128), nullable=False, index=True),
        sa.Column("event", sa.JSON, nullable=False),
    )
    op.create_table(
        "clip_frames",
        sa.Column("clip_id", sa.String(128), primary_key=True),
        sa.Column("frame_index", sa.Integer, primary_key=True),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("jpeg", sa.LargeBinary, nullable=False),
        sa.Column("stored_at", TZ, nullable=False, index=True),
    )
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(128), sa.ForeignKey("accounts.name", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("session_sha256", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(128), sa.ForeignKey("accounts.name", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("failure_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, index=True),
        sa.Column("at", TZ, nullable=False, index=True),
    )
    op.create_table(
        "review_items",
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("clip_id", sa.String(128), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("escalated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("summary", sa.String(512), nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("due_at", TZ, nullable=False, index=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claim_expires_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
    )
    # A replayed gate decision must not queue the same clip twice for the same reason.
    op.create_index("one_open_item_per_clip_and_kind", "review_items", ["clip_id", "kind"], unique=True,
                    postgresql_where=sa.text("status <> 'done'"), sqlite_where=sa.text("status <> 'done'"))
    op.create_table(
        "audit_log",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False, index=True),
        sa.Column("actor", sa.String(128), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("clip_id", sa.String(128), nullable=True, index=True),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    for table in ("audit_log", "review_items", "login_failures", "console_sessions", "api_tokens", "accounts",
                  "clip_frames", "clips", "decision_history"):
        op.drop_table(table)
    op.drop_column("claim_references", "thumbnail")
