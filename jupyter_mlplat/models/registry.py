"""The model registry service: publish, list, stages, deploy. No Tornado in here.

Handlers, magics and the CLI call this class. Publishing checks everything it can (name policy,
source, job) before a byte moves, copies the artifact atomically (:mod:`.layout`), and only then
registers the version, so a failed or interrupted publish leaves neither a row nor a folder.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..changes import MODEL_SCHEMA_ID, Changes
from ..config import PlatformConfig, UnknownName
from ..db import Database, utcnow
from ..errors import Conflict, Forbidden, InvalidRequest, NotFound
from . import layout
from .orm import ModelDeploymentRow, ModelRow, ModelStageEventRow, ModelVersionRow
from .schemas import (
    Deployment,
    DeployRequest,
    Lineage,
    ModelList,
    ModelSummary,
    ModelVersion,
    PublishRequest,
    Stage,
    StageChange,
    VersionList,
)

if TYPE_CHECKING:
    from ..jobs.service import JobService

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # fullmatch: no trailing newline
EXCLUSIVE_STAGES = (Stage.staging, Stage.production)
#: Policies whose names are ``<user>/<name>``; under ``private`` only the owner sees a model.
USER_PREFIXED = ("namespace", "private")
#: Seconds a deployment's ready replicas are followed after a deploy (told as they change).
FOLLOW_DEPLOYMENT_FOR = 300.0
FOLLOW_DEPLOYMENT_EVERY = 1.0


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


class ModelRegistry:
    def __init__(self, config: PlatformConfig, db: Database, root_dir: Path,
                 jobs: JobService | None = None, changes: Changes | None = None) -> None:
        self.config = config
        self.changes = changes or Changes()
        self.db = db
        self.root_dir = root_dir
        self.jobs = jobs
        self._store: layout.Location | None = None
        self._publish_lock = threading.Lock()

    @property
    def store(self) -> layout.Location:
        if self._store is None:
            self._store = layout.store_location(self.config.model_store,
                                                self.config.resolved_data_dir())
        return self._store

    # -- names ---------------------------------------------------------------------------------
    def qualified(self, name: str, user: str) -> str:
        """The stored name: ``name``, or ``<user>/<name>`` under the namespace/private policy."""
        if self.config.model_name_policy in USER_PREFIXED and "/" not in name:
            return f"{user}/{name}"
        return name

    def _check_publish_name(self, name: str, user: str) -> str:
        policy = self.config.model_name_policy
        owner_part, _, short = name.rpartition("/")
        if owner_part and policy not in USER_PREFIXED:
            raise InvalidRequest(f"model name {name!r} may not contain '/'", reason="name")
        if not NAME_RE.fullmatch(short):
            raise InvalidRequest(f"model name {short!r} must start with a letter or digit and "
                                 "use only letters, digits, '.', '_' and '-' (at most 100)",
                                 reason="name")
        full = self.qualified(name, user)
        if policy in USER_PREFIXED and full.partition("/")[0] != user:
            raise Forbidden(f"models are namespaced by user: publish as {user}/{short}, not "
                            f"{full}", reason="name policy")
        with self.db.session() as s:
            row = s.get(ModelRow, full)
            if row is not None and row.owner != user:
                raise Conflict(f"model name {full!r} is already used by {row.owner}'s model; "
                               "choose another name", reason="name taken")
        return full

    # -- publish -------------------------------------------------------------------------------
    def publish(self, req: PublishRequest, user: str,
                progress: layout.Progress | None = None) -> ModelVersion:
        name = self._check_publish_name(req.name, user)
        lineage = self._lineage(req, user)
        # From a job without metrics given: what the job wrote to its metrics.json (here or on
        # its output cluster)
        metrics = req.metrics or (self.jobs.metrics(lineage.job_id, user)
                                  if lineage.job_id and self.jobs is not None else {})
        source = layout.artifact_location(req.path, self.root_dir)
        model_dir = self.store.join(*name.split("/"))
        with self._publish_lock:
            with self.db.session() as s:
                top = s.scalar(select(func.max(ModelVersionRow.version))
                               .where(ModelVersionRow.model == name)) or 0
            with layout.storage_errors("model store"):
                version = max([top, *layout.versions_in(model_dir)]) + 1
                manifest, size = layout.copy_version(source, model_dir, version, progress)
            now = utcnow()
            with self.db.session() as s:
                if s.get(ModelRow, name) is None:
                    s.add(ModelRow(name=name, owner=user, created=now))
                    s.flush()
                s.add(ModelVersionRow(
                    model=name, version=version, uri=model_dir.join(str(version)).public,
                    stage=Stage.none.value, user=user, created=now, metrics=metrics,
                    lineage=lineage.model_dump(mode="json"), manifest=manifest,
                    files=len(manifest), size=size, job_id=lineage.job_id,
                    description=req.description))
        self.changes.emit(MODEL_SCHEMA_ID, kind="published", model=name, version=version,
                          stage=Stage.none.value)
        return self.version(name, version, user)

    def _lineage(self, req: PublishRequest, user: str) -> Lineage:
        notebook = req.notebook
        parameters = dict(req.parameters)
        job_id = image = None
        if req.job_id is not None:
            if self.jobs is None:
                raise InvalidRequest("jobs are not available here", reason="unknown job")
            job = self.jobs.get(req.job_id, user)
            if job.state.value != "succeeded":
                raise Conflict(f"job {job.id} is {job.state.value}; publish from a job once it "
                               "has succeeded", reason="job not succeeded")
            job_id, image = job.id, job.image
            notebook = notebook or job.spec.notebook
            parameters = {**job.spec.parameters, **parameters}
        digest = None
        if notebook and not notebook.startswith(layout.HDFS):
            path = (self.root_dir / notebook).resolve()
            if path.is_file() and path.is_relative_to(self.root_dir.resolve()):
                digest = sha256_file(path)
        return Lineage(source=req.path, notebook=notebook, notebook_sha256=digest,
                       job_id=job_id, image=image, parameters=parameters)

    # -- read ----------------------------------------------------------------------------------
    @property
    def private(self) -> bool:
        return self.config.model_name_policy == "private"

    def list_models(self, user: str | None = None) -> ModelList:
        """Every model, or under the ``private`` policy the models of ``user`` (default: the
        workbench user)."""
        owner = user or self.config.user
        models_q, versions_q = select(ModelRow), select(ModelVersionRow)
        if self.private:
            models_q = models_q.where(ModelRow.owner == owner)
            versions_q = versions_q.join(ModelRow, ModelRow.name == ModelVersionRow.model) \
                .where(ModelRow.owner == owner)
        with self.db.session() as s:
            models = s.scalars(models_q.order_by(ModelRow.name)).all()
            versions = s.scalars(versions_q).all()
            deployed = set(s.scalars(select(ModelDeploymentRow.model)).all())
        summaries = []
        for m in models:
            mine = [v for v in versions if v.model == m.name]
            stages = {v.stage: v.version for v in sorted(mine, key=lambda v: v.version)
                      if v.stage in (Stage.staging.value, Stage.production.value)}
            summaries.append(ModelSummary(
                name=m.name, owner=m.owner, created=m.created,
                latest_version=max((v.version for v in mine), default=None), versions=len(mine),
                stages=stages, deployed=m.name in deployed))
        return ModelList(models=summaries, store=self.store.public,
                         name_policy=self.config.model_name_policy)

    def _model(self, name: str, user: str, changing: str | None = None) -> str:
        """The stored name of a model ``user`` may see (404 otherwise: under the ``private``
        policy another user's model does not exist for you). ``changing`` names a change
        only the owner may make; another user gets 403 under the shared policies."""
        full = self.qualified(name, user)
        with self.db.session() as s:
            row = s.get(ModelRow, full)
            owner = None if row is None else row.owner
        if owner is None or (self.private and owner != user):
            raise NotFound(f"no model {full!r}", reason="unknown model")
        if changing is not None and owner != user:
            raise Forbidden(f"model {full!r} is {owner}'s; only its owner may {changing}",
                            reason="not owner")
        return full

    def versions(self, name: str, user: str) -> VersionList:
        full = self._model(name, user)
        with self.db.session() as s:
            rows = s.scalars(select(ModelVersionRow).where(ModelVersionRow.model == full)
                             .order_by(ModelVersionRow.version.desc())).all()
            events = s.scalars(select(ModelStageEventRow)
                               .where(ModelStageEventRow.model == full)
                               .order_by(ModelStageEventRow.id)).all()
        return VersionList(name=full, versions=[self._to_model(r, events) for r in rows])

    def version(self, name: str, version: int, user: str) -> ModelVersion:
        full = self._model(name, user)
        with self.db.session() as s:
            row = s.scalar(select(ModelVersionRow).where(ModelVersionRow.model == full,
                                                         ModelVersionRow.version == version))
            events = s.scalars(select(ModelStageEventRow).where(
                ModelStageEventRow.model == full, ModelStageEventRow.version == version)
                .order_by(ModelStageEventRow.id)).all()
        if row is None:
            raise NotFound(f"model {full!r} has no version {version}", reason="unknown version")
        return self._to_model(row, events)

    @staticmethod
    def _to_model(row: ModelVersionRow, events: Any) -> ModelVersion:
        return ModelVersion(
            name=row.model, version=row.version, uri=row.uri, stage=Stage(row.stage),
            user=row.user, created=row.created, metrics=row.metrics or {},
            lineage=Lineage.model_validate(row.lineage), files=row.files, size=row.size,
            manifest=row.manifest or {}, description=row.description,
            stage_history=[StageChange(time=e.time, user=e.user,
                                       from_stage=e.from_stage and Stage(e.from_stage),
                                       to_stage=Stage(e.to_stage))
                           for e in events if e.version == row.version])

    # -- stages --------------------------------------------------------------------------------
    def set_stage(self, name: str, version: int, stage: Stage, user: str) -> ModelVersion:
        """Move a version to ``stage``; staging/production hold one version each, so the one
        there before is archived (both changes recorded in the history)."""
        full = self._model(name, user, changing="change its stages")
        now = utcnow()
        with self.db.session() as s:
            row = s.scalar(select(ModelVersionRow).where(ModelVersionRow.model == full,
                                                         ModelVersionRow.version == version))
            if row is None:
                raise NotFound(f"model {full!r} has no version {version}", reason="unknown version")
            if row.stage == stage.value:
                return self.version(full, version, user)
            if stage in EXCLUSIVE_STAGES:
                for other in s.scalars(select(ModelVersionRow).where(
                        ModelVersionRow.model == full, ModelVersionRow.stage == stage.value)):
                    s.add(ModelStageEventRow(model=full, version=other.version,
                                             from_stage=other.stage, to_stage="archived",
                                             user=user, time=now))
                    other.stage = Stage.archived.value
            s.add(ModelStageEventRow(model=full, version=version, from_stage=row.stage,
                                     to_stage=stage.value, user=user, time=now))
            row.stage = stage.value
        self.changes.emit(MODEL_SCHEMA_ID, kind="stage", model=full, version=version,
                          stage=stage.value)
        return self.version(full, version, user)

    # -- serving -------------------------------------------------------------------------------
    def deploy(self, name: str, req: DeployRequest, user: str) -> Deployment:
        from .deploy import apply_serving

        full = self._model(name, user, changing="deploy it")
        try:
            target = self.config.kubernetes_target(req.target)
        except UnknownName as exc:
            raise InvalidRequest(str(exc), reason="unknown target") from exc
        model_dir = self.store.join(*full.split("/"))
        with layout.storage_errors("model store"):
            versions = layout.versions_in(model_dir)
        if not versions:
            raise Conflict(f"model {full!r} has no version in the store yet", reason="empty")
        namespace = req.namespace or target.namespace_for(user)
        record = apply_serving(self.config, target, full, namespace, model_dir.url, req)
        now = utcnow()
        with self.db.session() as s:
            row = s.get(ModelDeploymentRow, full) or ModelDeploymentRow(model=full)
            row.target, row.namespace = target.name, namespace
            row.deployment = row.service = record
            row.base_path, row.deployed_version = model_dir.url, versions[-1]
            row.image, row.user, row.created = req.image, user, now
            s.add(row)
        self.changes.emit(MODEL_SCHEMA_ID, kind="deployed", model=full, version=versions[-1])
        if self.changes.listened:
            threading.Thread(target=self._follow_deployment,
                             args=(full, target.name, namespace, record, req.replicas),
                             daemon=True, name=f"follow deployment {full}").start()
        return self.deployment(full, user)

    def _follow_deployment(self, model: str, target: str, namespace: str, name: str,
                           replicas: int) -> None:
        """Tell each change of a new deployment's ready replicas until all are ready (or
        :data:`FOLLOW_DEPLOYMENT_FOR` passed)."""
        from .deploy import ready_replicas

        seen: int | None = None
        deadline = time.monotonic() + FOLLOW_DEPLOYMENT_FOR
        while time.monotonic() < deadline:
            ready = ready_replicas(self.config, target, namespace, name)
            if ready is not None and ready != seen:
                seen = ready
                self.changes.emit(MODEL_SCHEMA_ID, kind="deployment", model=model,
                                  ready_replicas=ready)
            if seen is not None and seen >= replicas:
                return
            time.sleep(FOLLOW_DEPLOYMENT_EVERY)

    def deployment(self, name: str, user: str) -> Deployment:
        from .deploy import ready_replicas

        full = self._model(name, user)
        with self.db.session() as s:
            row = s.get(ModelDeploymentRow, full)
        if row is None:
            raise NotFound(f"model {full!r} is not deployed", reason="not deployed")
        with layout.storage_errors("model store"):
            versions = layout.versions_in(self.store.join(*full.split("/")))
        return Deployment(
            name=full, target=row.target, namespace=row.namespace, deployment=row.deployment,
            service=row.service, base_path=row.base_path, deployed_version=row.deployed_version,
            serving_version=versions[-1] if versions else None, image=row.image, user=row.user,
            created=row.created,
            ready_replicas=ready_replicas(self.config, row.target, row.namespace,
                                          row.deployment))
