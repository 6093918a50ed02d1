"""jobs: indexes that serve the listing (newest first, filtered) from the index alone

Revision ID: 0004_jobs_indexes
Revises: 0001

The jobs page orders by ``(created, id)`` and filters by state, user and notebook. With one
index per column the database sorts every matching row (a deep page of 100,000 jobs took a
second); with the sort key appended to each filter column it walks an index in order and stops
after the page, and counting the matches never touches the table.
"""

from alembic import op

revision = "0004_jobs_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_jobs_created_id": ["created", "id"],
    "ix_jobs_state_created": ["state", "created", "id"],
    "ix_jobs_user_created": ["user", "created", "id"],
    "ix_jobs_notebook_state_created": ["notebook", "state", "created", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "jobs", columns)
    op.drop_index("ix_jobs_created", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_created", "jobs", ["created"])
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
