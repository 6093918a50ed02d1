"""model registry: models, versions, stage history, deployments

Revision ID: 0003_models
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_models"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_models_owner", "models", ["owner"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), sa.ForeignKey("models.name", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("uri", sa.String(1000), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("lineage", sa.JSON, nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("job_id", sa.String(32)),
        sa.Column("description", sa.Text),
        sa.UniqueConstraint("model", "version", name="uq_model_versions"),
    )
    op.create_index("ix_model_versions_model", "model_versions", ["model"])
    op.create_index("ix_model_versions_job_id", "model_versions", ["job_id"])
    op.create_table(
        "model_stage_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), sa.ForeignKey("models.name", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_stage", sa.String(20)),
        sa.Column("to_stage", sa.String(20), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_model_stage_events_model", "model_stage_events", ["model"])
    op.create_table(
        "model_deployments",
        sa.Column("model", sa.String(200), sa.ForeignKey("models.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("deployment", sa.String(100), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("base_path", sa.String(1000), nullable=False),
        sa.Column("deployed_version", sa.Integer, nullable=False),
        sa.Column("image", sa.String(500), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_deployments")
    op.drop_table("model_stage_events")
    op.drop_table("model_versions")
    op.drop_table("models")
