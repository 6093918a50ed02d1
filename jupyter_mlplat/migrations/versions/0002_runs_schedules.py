"""runs and schedules

Revision ID: 0002_runs
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_runs"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("notebook", sa.String(1000), nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("runtime", sa.String(100), nullable=False),
        sa.Column("output", sa.String(1000)),
        sa.Column("timeout", sa.Integer),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(100), nullable=False),
        sa.Column("executor", sa.String(20), nullable=False),
        sa.Column("misfire_policy", sa.String(20), nullable=False),
        sa.Column("concurrency_policy", sa.String(20), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("next_fire", sa.DateTime(timezone=True)),
        sa.Column("last_fire", sa.DateTime(timezone=True)),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("k8s_object", sa.JSON),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    for col in ("user", "notebook", "next_fire"):
        op.create_index(f"ix_schedules_{col}", "schedules", [col])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("job_id", sa.String(32), unique=True),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("notebook", sa.String(1000), nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("schedule_id", sa.String(32)),
        sa.Column("due_time", sa.DateTime(timezone=True)),
        sa.Column("parent_id", sa.String(32)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("schedule_id", "due_time", name="uq_runs_schedule_due"),
    )
    for col in ("notebook", "schedule_id", "created"):
        op.create_index(f"ix_runs_{col}", "runs", [col])


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_table("schedules")
