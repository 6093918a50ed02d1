"""``mlp models publish|list|versions|stage|deploy``: the model registry from a terminal.

The platform comes from the environment like every ``mlp`` command.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ..entry.specs import notebook_arg, parse_metrics
from ..models.schemas import DeployRequest, PublishRequest, Stage
from .common import platform_of

if TYPE_CHECKING:
    pass




@click.group("models")
def models_group() -> None:
    """Publish models as versions with lineage, move them through stages, deploy them."""


@models_group.command("publish")
@click.argument("path")
@click.option("--name", required=True, help="Model name.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME=VALUE", help="Repeatable.")
@click.option("--job", "job_id", help="The finished job that produced it (lineage).")
@click.option("--notebook", help="Source notebook (lineage), when not from a job.")
@click.option("--json", "as_json", is_flag=True, help="The version as JSON.")
@click.pass_context
def publish(ctx: click.Context, path: str, name: str, metrics: tuple[str, ...],
            job_id: str | None, notebook: str | None, as_json: bool) -> None:
    """Copy PATH (file or folder, local or hdfs://) into the store as the next version."""
    platform = platform_of(ctx)
    version = platform.models.publish(
        PublishRequest(path=notebook_arg(path), name=name, metrics=parse_metrics(metrics),
                       job_id=job_id, notebook=notebook), platform.config.user)
    if as_json:
        click.echo(version.model_dump_json(indent=2))
    else:
        click.echo(f"published {version.name} version {version.version} ({version.files} files, "
                   f"{version.size} bytes) at {version.uri}")


@models_group.command("list")
@click.pass_context
def list_models(ctx: click.Context) -> None:
    """Models, their latest version and stages."""
    listing = platform_of(ctx).models.list_models()
    if not listing.models:
        click.echo(f"no models in {listing.store} (`mlp models publish PATH --name N`)")
    for m in listing.models:
        stages = ", ".join(f"{k} v{v}" for k, v in m.stages.items())
        click.echo(f"{m.name:30} v{m.latest_version}  {m.owner:10} {stages}"
                   f"{'  deployed' if m.deployed else ''}")


@models_group.command("versions")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@click.pass_context
def versions(ctx: click.Context, name: str, as_json: bool) -> None:
    """Versions of NAME side by side: stage, metrics, job."""
    platform = platform_of(ctx)
    listing = platform.models.versions(name, platform.config.user)
    if as_json:
        click.echo(json.dumps(listing.model_dump(mode="json"), indent=2))
        return
    keys = sorted({k for v in listing.versions for k in v.metrics})
    click.echo("\t".join(["version", "stage", *keys, "job", "created"]))
    for v in listing.versions:
        cells = [str(v.version), v.stage.value, *(f"{v.metrics[k]:g}" if k in v.metrics else "-"
                                                   for k in keys),
                 v.lineage.job_id or "-", v.created.isoformat(timespec="seconds")]
        click.echo("\t".join(cells))


@models_group.command("stage")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.argument("stage", type=click.Choice([s.value for s in Stage]))
@click.pass_context
def stage(ctx: click.Context, name: str, version: int, stage: str) -> None:
    """Move VERSION of NAME to STAGE."""
    platform = platform_of(ctx)
    moved = platform.models.set_stage(name, version, Stage(stage), platform.config.user)
    click.echo(f"{moved.name} version {moved.version} is now {moved.stage.value}")


@models_group.command("deploy")
@click.argument("name")
@click.option("--target", required=True, help="A kubernetes compute target.")
@click.option("--namespace", help="Default: the target's namespace template.")
@click.pass_context
def deploy(ctx: click.Context, name: str, target: str, namespace: str | None) -> None:
    """Serve NAME with TF Serving; later versions are picked up without a redeploy."""
    platform = platform_of(ctx)
    dep = platform.models.deploy(name, DeployRequest(target=target, namespace=namespace),
                                 platform.config.user)
    click.echo(f"{dep.name}: Deployment/{dep.deployment} in {dep.namespace}, serving version "
               f"{dep.serving_version}")
