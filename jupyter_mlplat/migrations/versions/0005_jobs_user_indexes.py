"""jobs: listing indexes led by the user, the one filter every listing of the API has

Revision ID: 0005_jobs_user_indexes
Revises: 0004_jobs_indexes

The jobs API lists only the workbench user's jobs, so every query filters ``user = ?`` before
state, notebook or target. Without statistics (SQLite is never analysed) the planner then walks
``(user, created, id)`` and reads every row to test the other filters: 70 ms for a notebook's
failed jobs among 100,000, 270 ms for the running ones. With the user in front of each filter
column and the sort key after it, each filter is one index range read in order (under 1 ms).
"""

from alembic import op

revision = "0005_jobs_user_indexes"
down_revision = "0004_jobs_indexes"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_jobs_user_state_created": ["user", "state", "created", "id"],
    "ix_jobs_user_notebook_state_created": ["user", "notebook", "state", "created", "id"],
    "ix_jobs_user_target_created": ["user", "target", "created", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "jobs", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
