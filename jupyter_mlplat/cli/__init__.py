"""``mlp``: the platform from a terminal, on the same services and database as the server.

A job submitted here shows up in the JupyterLab panel and in ``%mlp_jobs``, and the other way
round, because :meth:`Platform.from_env` reads the config and root the server hands its
terminals. Each command group is its own module, imported when it is used (``mlp --help`` and
``mlp jobs list`` load neither the sandbox nor the model registry); the sandbox's group lives
with the sandbox and is named here only as a string, so the product never imports it.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from .. import __version__
from ..entry.errors import USER_ERRORS
from .common import to_click

#: command name -> "module:attribute" of the click command
COMMANDS: dict[str, str] = {
    "devcluster": "jupyter_mlplat.devcluster.cli:devcluster",
    "jobs": "jupyter_mlplat.cli.jobs:jobs",
    "models": "jupyter_mlplat.cli.models:models_group",
    "run": "jupyter_mlplat.cli.runs:run_command",
    "runs": "jupyter_mlplat.cli.runs:runs_group",
    "schedules": "jupyter_mlplat.cli.runs:schedules_group",
    "tensorboard": "jupyter_mlplat.cli.tensorboard:tensorboard_group",
}


class _Root(click.Group):
    """Commands loaded on use (click's lazy group); domain errors become one line on stderr."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise to_click(exc) from exc


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlp")
def cli() -> None:
    """The ML platform from the command line: the same jobs as the JupyterLab panel."""


def main() -> None:
    """The ``mlp`` console script."""
    cli(prog_name="mlp")
