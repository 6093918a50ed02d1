"""``mlp devcluster build|up|status|down``: the sandbox of real engines from the command line.

The ``mlp`` CLI adds the :data:`devcluster` group; ``python -m jupyter_mlplat.devcluster`` runs
it alone. ``up`` returns once every engine answers and leaves them running in the background;
``down`` (from any shell) stops them using the state the workdir keeps.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from .base import ComponentError
from .sandbox import COMPONENTS, Sandbox

WORKDIR_HELP = "Folder for the sandbox's state, data and logs (default: the cache folder)."


def _parse_only(value: str | None) -> list[str]:
    """``hdfs,kube`` -> ``["hdfs", "kube"]`` in the order given; every name must be known."""
    if not value:
        return list(COMPONENTS)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in COMPONENTS]
    if unknown:
        raise click.BadParameter(
            f"unknown component(s) {', '.join(unknown)}; valid: {', '.join(COMPONENTS)}",
            param_hint="--only",
        )
    return list(dict.fromkeys(names))


def _sandbox(workdir: Path | None) -> Sandbox:
    return Sandbox(workdir.expanduser().resolve() if workdir else None)


def _fail(exc: ComponentError) -> click.ClickException:
    return click.ClickException(str(exc))


only_option = click.option(
    "--only", metavar="NAMES",
    help=f"Comma-separated components (default: all of {','.join(COMPONENTS)}).",
)
workdir_option = click.option(
    "--workdir", type=click.Path(file_okay=False, path_type=Path), help=WORKDIR_HELP,
)


@click.group()
def devcluster() -> None:
    """A sandbox of real engines on this machine: HDFS, Kubernetes, registry, PostgreSQL."""


@devcluster.command()
@only_option
@workdir_option
def build(only: str | None, workdir: Path | None) -> None:
    """Fetch/compile components into the cache without starting them (for CI)."""
    try:
        _sandbox(workdir).build(_parse_only(only), progress=click.echo)
    except ComponentError as exc:
        raise _fail(exc) from exc


@devcluster.command()
@only_option
@workdir_option
def up(only: str | None, workdir: Path | None) -> None:
    """Start components; write the platform config that points Jupyter at them."""
    sandbox = _sandbox(workdir)
    try:
        state = sandbox.up(_parse_only(only), progress=click.echo)
    except ComponentError as exc:
        raise _fail(exc) from exc
    config_file = state["config_file"]
    click.echo(f"\nsandbox is up ({sandbox.workdir}); platform config: {config_file}")
    click.echo("start JupyterLab on it with:\n")
    click.echo(f"    jupyter lab --MLPlatApp.config_file={shlex.quote(config_file)}\n")
    click.echo("stop it with: mlp devcluster down"
               + (f" --workdir {shlex.quote(str(sandbox.workdir))}" if workdir else ""))


def _describe(name: str, entry: dict[str, Any]) -> str:
    """One status line: liveness, start time, and the addresses (never passwords)."""
    info = entry.get("info", {})
    shown = {k: v for k, v in info.items() if "password" not in k and k != "url"}
    state = "up" if entry.get("alive") else "DOWN"
    return f"{name:<9} {state:<5} pids {entry.get('pids')}  {json.dumps(shown)}"


@devcluster.command()
@workdir_option
@click.option("--json", "as_json", is_flag=True, help="Print the full state as JSON.")
def status(workdir: Path | None, as_json: bool) -> None:
    """Show which components run, their processes and addresses."""
    state = _sandbox(workdir).status()
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    components = state.get("components", {})
    if not components:
        click.echo("no sandbox running; start one with: mlp devcluster up")
        return
    for name, entry in components.items():
        click.echo(_describe(name, entry))
    if state.get("config_file"):
        click.echo(f"platform config: {state['config_file']}")


@devcluster.command()
@workdir_option
def down(workdir: Path | None) -> None:
    """Stop every component the last `up` started."""
    stopped = _sandbox(workdir).down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
