"""schedules: the resources of the jobs they start (a schedule is a job definition)

Revision ID: 0006_schedule_resources
Revises: 0002_runs

Null for schedules made before: their jobs take the runtime's resources, as they did.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_schedule_resources"
down_revision = "0002_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("resources", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("resources")
