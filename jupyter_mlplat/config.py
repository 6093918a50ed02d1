"""The platform configuration: pydantic models, loading, and errors that say what to fix.

One config names the storage clusters, the image registry, the runtimes, the compute targets, the
database and the model store. It comes from the ``MLPlatApp`` traitlets, optionally from a YAML
file they point to, and is handed to kernels, the CLI and job runners through the file named by
``MLPLAT_CONFIG_FILE`` so that every entry point sees the same platform.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from . import envvars
from .errors import InvalidRequest

CONFIG_ENV = envvars.CONFIG
#: A DNS label. Pydantic's (Rust) regex engine reads ``$`` as the end of the text, so a
#: trailing newline does not match (tested); Python's ``re`` would need ``\Z`` or fullmatch.
NAME_RE = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class ConfigError(ValueError):
    """The platform config is invalid; ``str()`` names each bad field and how to fix it."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SecretRef(Model):
    """Where a secret lives. The value itself is never stored in the config nor echoed."""

    env: str | None = Field(None, description="Name of an environment variable holding it.")
    file: str | None = Field(None, description="Path of a file holding it.")
    k8s_secret: str | None = Field(
        None, description="Kubernetes secret `name` or `name/key` (used by pods, not read here)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if sum(x is not None for x in (self.env, self.file, self.k8s_secret)) != 1:
            raise ValueError("give exactly one of env, file or k8s_secret")
        return self

    def resolve(self) -> str | None:
        """The secret's value, or None when it is only available inside the cluster."""
        if self.env is not None:
            return os.environ.get(self.env)
        if self.file is not None:
            return Path(self.file).expanduser().read_text().strip()
        return None


class StorageCluster(Model):
    name: str = Field(pattern=NAME_RE, description="Cluster name used in `hdfs://<name>/path`.")
    kind: Literal["local", "webhdfs"] = "local"
    root: str | None = Field(
        None, description="local: the folder shown as this cluster (default: the server root)."
    )
    namenodes: list[str] = Field(
        default_factory=list,
        description="webhdfs: name node HTTP URLs in HA order, e.g. http://nn1:9870.",
    )
    user: str | None = Field(None, description="simple auth: the HDFS user name.")
    proxy_user: bool = Field(
        False, description="Act as the workbench user through `doas` (needs a proxy-user grant)."
    )
    auth: Literal["simple", "kerberos", "token"] = "simple"
    token: SecretRef | None = Field(None, description="auth=token: a delegation token.")
    base_path: str = Field("/", description="Paths outside this folder cannot be reached.")
    timeout: float = Field(30.0, gt=0, description="Seconds per WebHDFS request.")

    @model_validator(mode="after")
    def _kind_fields(self) -> StorageCluster:
        if self.kind == "webhdfs":
            if not self.namenodes:
                raise ValueError("a webhdfs cluster needs `namenodes` (one URL or an HA list)")
            for url in self.namenodes:
                if not re.match(r"^https?://[^/]+", url):
                    raise ValueError(f"namenode {url!r} must be an http(s):// URL")
            if self.auth == "token" and self.token is None:
                raise ValueError("auth=token needs `token`")
        return self


class RegistryConfig(Model):
    push: str = Field(description="Registry host[:port] the workbench pushes to.")
    pull: str | None = Field(
        None, description="The same registry as kubelets address it (default: the push address)."
    )
    insecure: bool = Field(False, description="Plain HTTP / unverified TLS. Never guessed.")
    repository_prefix: str = Field("mlplat", description="Repositories are `<prefix>/<user>`.")
    credentials: SecretRef | None = Field(
        None, description="A docker config JSON (file or env) with credentials for `push`."
    )
    pull_secret: str | None = Field(None, description="imagePullSecret name the pods use.")
    timeout: float = Field(
        60.0, gt=0, le=3600,
        description="Seconds a registry request may wait for the registry (to connect, or "
                    "between bytes of its answer) before it is retried; a registry that "
                    "hangs fails the build after 4 tries instead of blocking it.",
    )

    @field_validator("push", "pull")
    @classmethod
    def _bare_host(cls, value: str | None) -> str | None:
        if value is not None and ("://" in value or value.endswith("/")):
            raise ValueError("write the registry as host[:port], without a scheme or slash")
        return value

    @property
    def pull_address(self) -> str:
        return self.pull or self.push


class Resources(Model):
    cpu: str | None = Field(
        None, description="CPU request: a Kubernetes quantity, e.g. `2` or `500m`.")
    memory: str | None = Field(
        None, description="Memory request: a Kubernetes quantity, e.g. `4Gi`.")
    gpu: int = Field(0, ge=0, description="Number of `nvidia.com/gpu`.")

    @field_validator("cpu", "memory")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9]+(\.[0-9]+)?(m|[KMGTPE]i?|[kKMGTPE])?",
                                              str(value)):
            raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)")
        return None if value is None else str(value)


class Runtime(Model):
    name: str = Field(pattern=NAME_RE)
    image: str | None = Field(
        None, description="Base image `repo[:tag]` in the registry (none for local runs)."
    )
    python: str = Field("python3", description="Python interpreter inside the image.")
    workdir: str = Field("/workspace", description="Where the code layer is unpacked.")
    kernel: str = Field("python3", description="Kernel name papermill uses.")
    resources: Resources = Field(default_factory=Resources)


class TargetBase(Model):
    name: str = Field(pattern=NAME_RE)


class LocalTarget(TargetBase):
    """Jobs run as papermill subprocesses of this server, on this machine."""

    kind: Literal["local"] = "local"
    max_parallel: int = Field(
        4, ge=1, description="this workbench's jobs running at once on this target; "
                             "more wait queued and start in submit order as runners end.")
    warm_runners: int = Field(
        2, ge=0, le=16, description="runners kept waiting with papermill imported and a fresh "
        "kernel of the default runtime started, so a job starts at once; each serves one job "
        "and is replaced in the background by a fork of a process that has papermill imported "
        "(a fork and a kernel start). Two keep up with reruns that come back to back. An idle "
        "one costs a forked Python process and a kernel; they stop with the server. 0 starts "
        "every job cold.")


class KubernetesTarget(TargetBase):
    """Jobs run as a ``batch/v1`` Job (or PyTorchJob/TFJob) in the user's namespace."""

    kind: Literal["kubernetes"]
    kubeconfig: str | None = Field(None, description="Path of a kubeconfig (default: in-cluster).")
    context: str | None = None
    namespace: str = Field("ml-{user}", description="Namespace template; `{user}` is replaced.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    priority_class: str | None = None
    backoff_limit: int = Field(0, ge=0, description="retries of a failed pod.")
    ttl_seconds_after_finished: int | None = Field(
        86400, ge=0, description="finished objects (and their logs) are kept so long.")
    pod_annotations: dict[str, str] = Field(
        default_factory=dict, description="annotations on every job pod.")
    kubeflow_spec: dict[str, Any] = Field(
        default_factory=dict, description="merged into PyTorchJob/TFJob `spec` "
        "(e.g. runPolicy.schedulingPolicy); the CRD's schema checks it.")
    pod_template: dict[str, Any] = Field(
        default_factory=dict, description="merged into every pod the platform "
        "renders (Job, CronJob, training replicas, a deployed model's serving replicas), "
        "for what the cluster needs: e.g. "
        "`{spec: {hostNetwork: true}}`, `hostAliases`, `volumes`, a sidecar in "
        "`initContainers`, a `securityContext`. Mappings merge key by key; lists of named "
        "items (containers, volumes, env) merge by `name`, other lists are replaced; the "
        "job's own container is `main` here, whatever the job kind calls it.")
    tensorboard_dir: str = Field(
        "{workdir}/mlplat-outputs/tensorboard/{job_id}",
        description="per-job TensorBoard log dir ({workdir}, {user}, {job_id}) when the "
        "target has no `outputs` (then it lives in the pod only).")
    outputs: str | None = Field(
        None, description="shared output location of this target's jobs on a storage "
        "cluster, `hdfs://<cluster>/<path>` with `{job_id}` (and optionally `{user}`), e.g. "
        "`hdfs://prod-b/user/{user}/mlplat-jobs/{job_id}`: each job's `MLPLAT_OUTPUT_DIR`. "
        "The pod writes its output notebook there while it runs, TensorBoard events under "
        "`tensorboard/` and its log (`job.log`) when it ends, so they outlive the pod. A "
        "job's `output` (an hdfs:// folder) overrides it. The cluster must be in `storage`.")

    @field_validator("outputs")
    @classmethod
    def _outputs_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"hdfs://[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/\S*", value):
            raise ValueError(f"{value!r} must be hdfs://<cluster>/<path>")
        if "{job_id}" not in value:
            raise ValueError(f"{value!r} must contain {{job_id}}: each job needs a folder of "
                             "its own")
        unknown = set(re.findall(r"\{([^}]*)\}", value)) - {"user", "job_id"}
        if unknown:
            raise ValueError(f"{value!r}: unknown placeholder(s) "
                             f"{', '.join(sorted(unknown))}; valid: {{user}}, {{job_id}}")
        return value

    def namespace_for(self, user: str) -> str:
        """The user's namespace: the template with ``{user}`` folded into a valid DNS label."""
        folded = re.sub(r"[^a-z0-9-]+", "-", user.lower()).strip("-") or "user"
        return self.namespace.replace("{user}", folded)


def output_cluster(url: str) -> str:
    """The storage cluster of an ``hdfs://<cluster>/path`` URL."""
    return url.split("://", 1)[1].split("/", 1)[0]


class PluginTarget(TargetBase):
    """A target of a kind whose backend an installed package declares (entry-point group
    ``jupyter_mlplat.backends``); that backend's own target model checks the other fields."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(pattern=NAME_RE)


BACKENDS_GROUP = "jupyter_mlplat.backends"
BUILTIN_KINDS = ("local", "kubernetes")


def _target_kind(value: Any) -> str:
    """A target without ``kind`` is local (the embedded default); unknown kinds are plugins'."""
    kind = value.get("kind", "local") if isinstance(value, dict) else getattr(value, "kind",
                                                                                "local")
    return str(kind) if kind in BUILTIN_KINDS else "plugin"


#: One entry of ``targets``, typed by its ``kind``.
ComputeTarget = Annotated[
    Annotated[LocalTarget, Tag("local")] | Annotated[KubernetesTarget, Tag("kubernetes")]
    | Annotated[PluginTarget, Tag("plugin")],
    Discriminator(_target_kind),
]


def installed_target_kinds() -> set[str]:
    """The kinds of target this installation can run."""
    from importlib.metadata import entry_points

    return {*BUILTIN_KINDS, *(ep.name for ep in entry_points(group=BACKENDS_GROUP))}


MIB = 2**20


class Limits(Model):
    """What one user's requests may make grow; a request over a limit answers 4xx naming it."""

    max_body_bytes: int = Field(
        MIB, ge=1024, description="Bytes of a request body on the JSON routes (jobs, runs, "
        "schedules, TensorBoards, models); larger bodies answer 413.")
    max_upload_bytes: int = Field(
        64 * MIB, ge=1024, description="Bytes of a request body on the storage contents "
        "routes (a saved file, or one chunk of a chunked upload); larger bodies answer 413.")
    max_parameters_bytes: int = Field(
        64 * 1024, ge=2, description="Bytes of a job's, run's or schedule's parameters as "
        "JSON; they are stored with the job and shown in every listing.")
    max_schedules_per_user: int = Field(
        100, ge=0, description="Schedules one user may have (paused ones count).")
    min_schedule_interval: float = Field(
        60.0, ge=0, description="Seconds at least between two due times of a schedule.")
    max_queued_jobs_per_user: int = Field(
        100, ge=0, description="Jobs of one user waiting in state `queued` (on every target); "
        "a submit beyond it answers 429 until some start.")
    max_tensorboards_per_user: int = Field(
        5, ge=0, description="TensorBoard processes one user's server runs at once (stop one, "
        "or let the idle timeout stop it, to open another).")


class PlatformConfig(Model):
    user: str = Field(default_factory=getpass.getuser, description="The workbench user.")
    data_dir: str | None = Field(
        None, description="Where the database, logs and outputs live (default: Jupyter data dir)."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL (default: SQLite in data_dir; postgresql:// at scale)."
    )
    storage: list[StorageCluster] = Field(default_factory=list)
    registry: RegistryConfig | None = None
    runtimes: list[Runtime] = Field(default_factory=list)
    targets: list[ComputeTarget] = Field(default_factory=list)
    model_store: str | None = Field(
        None, description="URL of the model store, e.g. hdfs://prod-a/models (default: local)."
    )
    model_name_policy: Literal["refuse", "namespace", "private"] = "refuse"
    limits: Limits = Field(default_factory=Limits)

    @model_validator(mode="after")
    def _defaults_and_uniques(self) -> PlatformConfig:
        if not self.storage:
            self.storage = [StorageCluster(name="local", kind="local")]
        if not self.targets:
            self.targets = [LocalTarget(name="local")]
        if not self.runtimes:
            self.runtimes = [Runtime(name="default")]
        for field in ("storage", "runtimes", "targets"):
            names = [item.name for item in getattr(self, field)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{field}: names must be unique, repeated: {', '.join(dupes)}")
        plugins = sorted({t.kind for t in self.targets if isinstance(t, PluginTarget)})
        if plugins:
            missing = [kind for kind in plugins if kind not in installed_target_kinds()]
            if missing:
                raise ValueError(
                    f"targets: no backend is installed for kind {', '.join(missing)}; "
                    f"installed: {', '.join(sorted(installed_target_kinds()))}")
        if any(t.kind == "kubernetes" for t in self.targets) and self.registry is None:
            raise ValueError("a kubernetes target needs `registry` (push/pull addresses)")
        clusters = [c.name for c in self.storage]
        for t in self.targets:
            if isinstance(t, KubernetesTarget) and t.outputs:
                cluster = output_cluster(t.outputs)
                if cluster not in clusters:
                    raise ValueError(
                        f"targets: {t.name}.outputs names storage cluster {cluster!r}, which "
                        f"is not in `storage`; valid: {', '.join(clusters)}")
        return self

    # -- look-ups with errors that list the valid names ----------------------------------------
    def cluster(self, name: str) -> StorageCluster:
        return _by_name(self.storage, name, "storage cluster")

    def target(self, name: str) -> ComputeTarget:
        return _by_name(self.targets, name, "compute target")

    def runtime(self, name: str) -> Runtime:
        return _by_name(self.runtimes, name, "runtime")

    def runtime_for(self, name: str | None) -> Runtime:
        """The runtime a job, run or schedule uses: the one it names, or the first one."""
        return self.runtime(name or self.runtimes[0].name)

    def kubernetes_target(self, name: str) -> KubernetesTarget:
        """The target ``name``; an error naming its kind unless it is a Kubernetes one."""
        target = self.target(name)
        if not isinstance(target, KubernetesTarget):
            raise InvalidRequest(f"target {name!r} is {target.kind}; this needs a kubernetes "
                                 "target", reason="target kind")
        return target

    def resolved_data_dir(self) -> Path:
        if self.data_dir:
            path = Path(self.data_dir).expanduser()
        else:
            from jupyter_core.paths import jupyter_data_dir

            path = Path(jupyter_data_dir()) / "mlplat"
        if not path.exists():  # the database and job logs are the user's alone
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
        return path

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir() / 'mlplat.db'}"

    def public(self) -> PublicConfig:
        """What the API may show: names and addresses, never secret references or paths."""
        return PublicConfig(
            user=self.user,
            storage=[PublicCluster(name=c.name, kind=c.kind, namenodes=c.namenodes)
                     for c in self.storage],
            targets=[PublicTarget(name=t.name, kind=t.kind) for t in self.targets],
            runtimes=[PublicRuntime(name=r.name, image=r.image, workdir=r.workdir,
                                    resources=r.resources) for r in self.runtimes],
            registry=None if self.registry is None else PublicRegistry(
                push=self.registry.push, pull=self.registry.pull_address,
                insecure=self.registry.insecure),
            model_store=self.model_store,
        )


class PublicCluster(BaseModel):
    name: str
    kind: str
    namenodes: list[str]


class PublicTarget(BaseModel):
    name: str
    kind: str


class PublicRuntime(BaseModel):
    name: str
    image: str | None
    workdir: str
    resources: Resources


class PublicRegistry(BaseModel):
    push: str
    pull: str
    insecure: bool


class PublicConfig(BaseModel):
    user: str
    storage: list[PublicCluster]
    targets: list[PublicTarget]
    runtimes: list[PublicRuntime]
    registry: PublicRegistry | None
    model_store: str | None


class UnknownName(LookupError):
    """A name that is not configured; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(valid) or '(none)'}")
        self.kind = kind
        self.name = name
        self.valid = valid


def _by_name(items: list[Any], name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise UnknownName(kind, name, [item.name for item in items])


def format_validation_error(exc: ValidationError, source: str = "config") -> str:
    lines = [f"invalid {source}:"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def load_config(
    data: dict[str, Any] | None = None, path: str | Path | None = None
) -> PlatformConfig:
    """Merge a YAML/JSON file (if any) under ``data`` and validate; raise :class:`ConfigError`."""
    merged: dict[str, Any] = {}
    source = "platform config"
    if path:
        source = f"platform config {path}"
        try:
            text = Path(path).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read {source}: {exc.strerror}") from exc
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{source} must be a mapping of settings")
        merged.update(loaded)
    merged.update({k: v for k, v in (data or {}).items() if v not in (None, [], {})})
    try:
        return PlatformConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def config_from_env() -> PlatformConfig:
    """The config a kernel, CLI or runner sees: ``$MLPLAT_CONFIG_FILE`` or the embedded default."""
    path = os.environ.get(CONFIG_ENV)
    return load_config(path=path) if path else load_config()


def write_config_file(config: PlatformConfig, path: Path) -> Path:
    """Persist the resolved config for child processes (kernels, runners, the CLI).

    Secrets stay references, but ``database_url`` may carry the database password the children
    need to record jobs, so the file is readable by its owner only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(config.model_dump(mode="json", exclude_none=True), indent=2))
    os.replace(tmp, path)
    return path


ClusterName = Annotated[str, Field(pattern=NAME_RE)]
