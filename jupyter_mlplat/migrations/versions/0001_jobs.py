"""jobs and their events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("notebook", sa.String(1000)),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True)),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
        sa.Column("image", sa.String(500)),
        sa.Column("k8s_object", sa.JSON),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("backend_ref", sa.JSON, nullable=False),
        sa.Column("parent_id", sa.String(32)),
        sa.Column("client_request_id", sa.String(100)),
        sa.UniqueConstraint("user", "client_request_id", name="uq_jobs_user_request"),
    )
    for col in ("user", "state", "target", "notebook"):
        op.create_index(f"ix_jobs_{col}", "jobs", [col])
    op.create_index("ix_jobs_created", "jobs", ["created"])
    op.create_table(
        "job_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20)),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_job_events_job_id", "job_events", ["job_id"])


def downgrade() -> None:
    op.drop_table("job_events")
    op.drop_table("jobs")
