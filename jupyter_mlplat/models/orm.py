"""Tables of the model registry (migration ``0003_models``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class ModelRow(Base):
    __tablename__ = "models"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(ForeignKey("models.name", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(String(1000))
    stage: Mapped[str] = mapped_column(String(20), default="none")
    user: Mapped[str] = mapped_column(String(100))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    files: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("model", "version", name="uq_model_versions"),)


class ModelStageEventRow(Base):
    __tablename__ = "model_stage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(ForeignKey("models.name", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    user: Mapped[str] = mapped_column(String(100))
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelDeploymentRow(Base):
    __tablename__ = "model_deployments"

    model: Mapped[str] = mapped_column(ForeignKey("models.name", ondelete="CASCADE"),
                                       primary_key=True)
    target: Mapped[str] = mapped_column(String(100))
    namespace: Mapped[str] = mapped_column(String(100))
    deployment: Mapped[str] = mapped_column(String(100))
    service: Mapped[str] = mapped_column(String(100))
    base_path: Mapped[str] = mapped_column(String(1000))
    deployed_version: Mapped[int] = mapped_column(Integer)
    image: Mapped[str] = mapped_column(String(500))
    user: Mapped[str] = mapped_column(String(100))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
