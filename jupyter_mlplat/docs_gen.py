"""Generate ``docs/configuration.md`` from the pydantic models of the platform config.

The reference is generated, not written, so that it cannot drift from what the server accepts:
every field of every model reachable from :class:`~jupyter_mlplat.config.PlatformConfig` gets a
row with its type, default and description, and every section an example that the models
themselves validate (a wrong example fails generation). ``tests/test_docs.py`` holds the
committed file to this module's output.

    python -m jupyter_mlplat.docs_gen           # rewrite docs/configuration.md
    python -m jupyter_mlplat.docs_gen --check   # exit 1 if the file is stale
"""

from __future__ import annotations

import argparse
import enum
import getpass
import json
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from traitlets import TraitType

from . import config as cfg

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"

#: What a section is for, and the rules its validators enforce (they have no field to live on).
INTROS: dict[type[BaseModel], str] = {
    cfg.PlatformConfig: (
        "The whole document. Without any of it the server runs on the embedded defaults: one "
        "storage cluster `local` (the folder JupyterLab serves), one compute target `local` "
        "(papermill in a subprocess), one runtime `default`, and SQLite in the data folder. "
        "Names in `storage`, `runtimes` and `targets` must be unique; a `kubernetes` target "
        "needs `registry`."),
    cfg.StorageCluster: (
        "One entry of `storage`: a folder on this machine (`kind: local`) or an HDFS cluster "
        "over WebHDFS (`kind: webhdfs`, which needs `namenodes`). Users and code address it as "
        "`hdfs://<name>/path`. `auth: token` needs `token`."),
    cfg.SecretRef: (
        "A reference to a secret: exactly one of `env`, `file` or `k8s_secret`. The value is "
        "read when needed and never stored in the config, written to the database, logged or "
        "returned by the API."),
    cfg.RegistryConfig: (
        "The one image registry jobs are pushed to and pulled from. `push` is how the workbench "
        "reaches it, `pull` how the kubelets do; both must name the same registry."),
    cfg.Runtime: (
        "One entry of `runtimes`: the base image a job's code layer is appended to (Kubernetes), "
        "or just a kernel name (local)."),
    cfg.Resources: "Requests and limits of a job's pods.",
    cfg.Limits: (
        "Bounds on what requests can make grow, per user of a server. A request over a limit "
        "is refused before anything is stored or started, with a 4xx whose message names the "
        "limit (`limits.<field>`): 413 for a body, 400 for parameters and a schedule's "
        "interval, 429 for counts (schedules, queued jobs, TensorBoards)."),
    cfg.LocalTarget: (
        "An entry of `targets` with `kind: local` (or no `kind`): jobs run as papermill "
        "subprocesses of the server, on its machine."),
    cfg.PluginTarget: (
        "An entry of `targets` of any other `kind`: a package that declares a backend for that "
        "kind in the entry-point group `jupyter_mlplat.backends` (`kind = \"module:Class\"`) "
        "runs it; the backend's own target model checks the other fields. The server does not "
        "start when no installed backend has the kind."),
    cfg.KubernetesTarget: (
        "An entry of `targets` with `kind: kubernetes`: a job becomes a `batch/v1` Job (or a "
        "PyTorchJob/TFJob) in the user's namespace, running the image built for it. Other kinds "
        "come from installed packages that declare a backend in the entry-point group "
        "`jupyter_mlplat.backends`."),
}

#: A valid example per section (validated by the models during generation).
EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    cfg.PlatformConfig: {
        "user": "alice",
        "data_dir": "/srv/mlplat/alice",
        "database_url": "postgresql+psycopg2://mlplat@db.example:5432/mlplat",
        "storage": [{"name": "prod-a", "kind": "webhdfs",
                     "namenodes": ["http://nn1.example:9870", "http://nn2.example:9870"],
                     "proxy_user": True, "user": "jupyter"}],
        "registry": {"push": "registry.example:5000"},
        "runtimes": [{"name": "torch", "image": "runtimes/torch:2.4"}],
        "targets": [{"name": "gpu", "kind": "kubernetes", "namespace": "ml-{user}"}],
        "model_store": "hdfs://prod-a/models",
    },
    cfg.StorageCluster: {
        "name": "prod-b", "kind": "webhdfs",
        "namenodes": ["https://nn1.b.example:9871", "https://nn2.b.example:9871"],
        "auth": "token", "token": {"env": "PROD_B_HDFS_TOKEN"}, "base_path": "/user",
        "timeout": 60,
    },
    cfg.SecretRef: {"file": "/etc/mlplat/registry/config.json"},
    cfg.RegistryConfig: {
        "push": "registry.example:5000", "pull": "registry.svc.cluster.local:5000",
        "repository_prefix": "mlplat", "credentials": {"file": "/etc/mlplat/docker-config.json"},
        "pull_secret": "mlplat-pull",
    },
    cfg.Runtime: {
        "name": "torch", "image": "runtimes/torch:2.4", "python": "python3",
        "workdir": "/workspace", "kernel": "python3",
        "resources": {"cpu": "4", "memory": "16Gi", "gpu": 1},
    },
    cfg.Resources: {"cpu": "500m", "memory": "4Gi", "gpu": 0},
    cfg.Limits: {"max_body_bytes": 2097152, "max_parameters_bytes": 16384,
                 "max_schedules_per_user": 20, "min_schedule_interval": 300,
                 "max_queued_jobs_per_user": 50, "max_tensorboards_per_user": 3},
    cfg.LocalTarget: {"name": "local", "kind": "local", "max_parallel": 2},
    cfg.PluginTarget: {"name": "hpc", "kind": "slurm", "partition": "gpu"},
    cfg.KubernetesTarget: {
        "name": "gpu", "kind": "kubernetes", "kubeconfig": "~/.kube/config",
        "context": "prod", "namespace": "ml-{user}", "node_selector": {"pool": "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                         "effect": "NoSchedule"}],
        "priority_class": "ml-batch",
    },
}

#: Descriptions of fields the models leave undescribed (a field with neither fails the test).
DESCRIPTIONS: dict[str, str] = {
    "PlatformConfig.storage": "Storage clusters (default: one `local` cluster).",
    "PlatformConfig.registry": "The image registry; required by `kubernetes` targets.",
    "PlatformConfig.runtimes": "Runtimes jobs run in (default: one `default` runtime); the "
                               "first is the default of a job.",
    "PlatformConfig.targets": "Compute targets (default: one `local` target).",
    "PlatformConfig.limits": "Limits on request bodies, parameters, schedules, queued jobs "
                             "and TensorBoards.",
    "PlatformConfig.model_name_policy": "`refuse`: model names are global and may not contain "
                                        "`/`; `namespace`: a bare name is stored as "
                                        "`<user>/<name>` and users publish only under their own; "
                                        "`private`: names as with `namespace`, and a user sees "
                                        "only their own models (others answer 404). With "
                                        "`refuse` and `namespace` every user sees every model; "
                                        "only its owner stages or deploys it.",
    "StorageCluster.kind": "`local`: a folder on this machine; `webhdfs`: an HDFS cluster.",
    "StorageCluster.auth": "webhdfs: `simple` (user name), `kerberos` (the server's ticket, "
                           "needs the `kerberos` extra) or `token` (a delegation token).",
    "Runtime.name": "Name jobs and schedules refer to.",
    "Runtime.resources": "Default resources of jobs in this runtime (a job may override).",
    "LocalTarget.name": "Name jobs and schedules refer to.",
    "LocalTarget.kind": "`local` (the default when `kind` is left out).",
    "PluginTarget.name": "Name jobs and schedules refer to.",
    "PluginTarget.kind": "The kind an installed backend declares (its entry-point name).",
    "KubernetesTarget.name": "Name jobs and schedules refer to.",
    "KubernetesTarget.kind": "`kubernetes`.",
    "KubernetesTarget.context": "kubeconfig context (default: the current one).",
    "KubernetesTarget.node_selector": "`nodeSelector` of every job pod and serving replica.",
    "KubernetesTarget.tolerations": ("`tolerations` of every job pod and serving replica "
                                     "(Kubernetes syntax)."),
    "KubernetesTarget.priority_class": "`priorityClassName` of every job pod.",
}

#: Defaults computed at start, described instead of shown (they differ per machine).
FACTORY_DEFAULTS: dict[Callable[[], Any], str] = {getpass.getuser: "the OS user of the server"}


def models(root: type[BaseModel] = cfg.PlatformConfig) -> list[type[BaseModel]]:
    """Every model reachable from ``root``, in the order its fields name them."""
    found: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in found:
            return
        found.append(model)
        for field in model.model_fields.values():
            for inner in _models_in(field.annotation):
                visit(inner)

    visit(root)
    return found


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def type_name(annotation: Any) -> str:
    """A reader's name for a type: ``string``, ``list of StorageCluster``, ``one of a, b``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:  # a tagged member of a union, a constrained type
        return type_name(args[0])
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        suffix = " or null" if type(None) in args else ""
        return " or ".join(names) + suffix
    if origin is list:
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return (f"mapping of {type_name(args[0])} to {type_name(args[1])}" if args
                else "mapping")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", Any: "any"}
    return simple.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        factory = field.default_factory
        if factory in FACTORY_DEFAULTS:
            return FACTORY_DEFAULTS[factory]
        if isinstance(factory, type) and issubclass(factory, BaseModel):
            return "all defaults"
        return f"`{json.dumps(factory())}`"  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return "**required**"
    value = field.default
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value)}`"


def constraints(field: FieldInfo) -> str:
    """Bounds and patterns from the field's metadata, as the validator enforces them."""
    parts = []
    for item in field.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
        pattern = getattr(item, "pattern", None)
        if pattern == cfg.NAME_RE:
            parts.append("a DNS label: lower-case letters, digits and `-`, up to 63")
        elif pattern:
            parts.append(f"matches `{pattern}`")
    return "; ".join(parts)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_model(model: type[BaseModel]) -> str:
    name = model.__name__
    example = EXAMPLES[model]
    model.model_validate(example)  # an example that does not validate fails generation
    lines = [f"## {name}", "", INTROS[model], "",
             "| field | type | default | description |", "| --- | --- | --- | --- |"]
    for field_name, field in model.model_fields.items():
        description = field.description or DESCRIPTIONS.get(f"{name}.{field_name}", "")
        rule = constraints(field)
        if rule:
            description = f"{description} ({rule})" if description else rule.capitalize()
        lines.append(f"| `{field_name}` | {cell(type_name(field.annotation))} | "
                     f"{cell(default_text(field))} | {cell(description)} |")
    lines += ["", "Example:", "", "```yaml",
              yaml.safe_dump(example, sort_keys=False, default_flow_style=False).rstrip(),
              "```", ""]
    return "\n".join(lines)


def render_traits() -> str:
    """The server options: traits of ``MLPlatApp`` (command line or Jupyter config files)."""
    from .app import MLPlatApp

    lines = ["## Server options", "",
             "Traits of `MLPlatApp`, set in a Jupyter config file "
             "(`c.MLPlatApp.config_file = ...`) or on the command line "
             "(`--MLPlatApp.config_file=...`). Those that mirror a field of the platform config "
             "win over the YAML file.", "",
             "| trait | type | default | help |", "| --- | --- | --- | --- |"]
    traits: dict[str, TraitType[Any, Any]] = MLPlatApp.class_own_traits(config=True)
    for name in sorted(traits):
        trait = traits[name]
        default = trait.default_value_repr()
        shown = "" if default in ("''", "[]", "{}") else f"`{default}`"
        lines.append(f"| `{name}` | {type(trait).__name__} | {shown or 'unset'} | "
                     f"{cell(trait.help)} |")
    return "\n".join([*lines, ""])


def render() -> str:
    sections = [render_model(model) for model in models()]
    toc = [f"- [{m.__name__}](#{m.__name__.lower()})" for m in models()]
    header = [
        "# Configuration reference", "",
        "<!-- Generated by `python -m jupyter_mlplat.docs_gen` from the pydantic models in "
        "jupyter_mlplat/config.py; do not edit by hand. -->", "",
        "The platform config is one YAML (or JSON) document, named by "
        "`--MLPlatApp.config_file=...`, or the equivalent `MLPlatApp` traits in any Jupyter "
        "config file. The server validates it at start and refuses to start on a bad one, "
        "naming each wrong field and what to write instead. Kernels, terminals, job runners "
        "and the `mlp` CLI started by the server see the same config (through the file named "
        f"by `${cfg.CONFIG_ENV}`).", "",
        "Secrets (registry credentials, HDFS delegation tokens) are never written in the "
        "config: they are [references](#secretref) to an environment variable, a file or a "
        "Kubernetes secret. See [security.md](security.md) and "
        "[deployment.md](deployment.md).", "",
        *toc, "- [Server options](#server-options)", "",
    ]
    return "\n".join([*header, *sections, render_traits()]).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/configuration.md.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `python -m jupyter_mlplat.docs_gen`")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
