"""Crowdsourced studies: platform recruitment, check items (gold, trap), balanced blocks, screening.

Adds ``study.recruitment``, ``item.kind`` and ``item.tolerance`` (existing attention checks become
``kind = 'attention'``), the participant's platform, raw platform ids, block and screening outcome, and
the ``screening_answer`` table.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-10
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    with op.batch_alter_table("study") as batch:
        batch.add_column(sa.Column("recruitment", sa.JSON(), nullable=True))
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="main"))
        batch.add_column(sa.Column("tolerance", sa.Integer(), nullable=True))
    op.execute("UPDATE item SET kind = 'attention' WHERE attention")
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("platform", sa.String(16), nullable=True))
        batch.add_column(sa.Column("platform_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("block", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("screened_out_at", tz, nullable=True))
        batch.add_column(sa.Column("screen_reason", sa.Text(), nullable=True))
    op.create_table(
        "screening_answer",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participant.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("answered_at", tz, nullable=False),
        sa.UniqueConstraint("participant_id", "step", name="uq_screening_answer"),
    )
    op.create_index("ix_screening_answer_study_id", "screening_answer", ["study_id"])
    op.create_index("ix_screening_answer_participant_id", "screening_answer", ["participant_id"])


def downgrade() -> None:
    op.drop_table("screening_answer")
    with op.batch_alter_table("participant") as batch:
        for column in ("screen_reason", "screened_out_at", "block", "platform_ids", "platform"):
            batch.drop_column(column)
    with op.batch_alter_table("item") as batch:
        batch.drop_column("tolerance")
        batch.drop_column("kind")
    with op.batch_alter_table("study") as batch:
        batch.drop_column("recruitment")
