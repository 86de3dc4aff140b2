"""Initial study schema: study, stimulus, item, participant, session, response.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "study",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("consent", sa.Text(), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "stimulus",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.UniqueConstraint("study_id", "key", name="uq_stimulus_key"),
    )
    op.create_index("ix_stimulus_study_id", "stimulus", ["study_id"])
    op.create_table(
        "item",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("question", sa.String(16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("class_name", sa.String(120), nullable=False),
        sa.Column("attention", sa.Boolean(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.UniqueConstraint("study_id", "key", name="uq_item_key"),
    )
    op.create_index("ix_item_study_id", "item", ["study_id"])
    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("consented_at", tz, nullable=True),
        sa.Column("completed_at", tz, nullable=True),
    )
    op.create_index("ix_participant_study_id", "participant", ["study_id"])
    op.create_table(
        "session",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participant.id", ondelete="CASCADE"), nullable=False),
        sa.Column("opened_at", tz, nullable=False),
        sa.Column("client", sa.String(200), nullable=False),
    )
    op.create_index("ix_session_participant_id", "session", ["participant_id"])
    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participant.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id", ondelete="SET NULL"), nullable=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(80), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("display", sa.Integer(), nullable=False),
        sa.Column("shown_at", tz, nullable=False),
        sa.Column("answered_at", tz, nullable=False),
        sa.UniqueConstraint("participant_id", "item_id", "part", name="uq_response_answer"),
    )
    op.create_index("ix_response_study_id", "response", ["study_id"])
    op.create_index("ix_response_participant_id", "response", ["participant_id"])


def downgrade() -> None:
    for table in ("response", "session", "participant", "item", "stimulus", "study"):
        op.drop_table(table)
