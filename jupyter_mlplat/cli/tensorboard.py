"""``mlp tensorboard start|list|stop``: TensorBoards of the running Jupyter server."""

from __future__ import annotations

import json

import click

from ..entry.specs import notebook_arg
from ..tensorboard.client import TensorBoardClient

server_options = [
    click.option("--url", help="Jupyter server URL (default: $MLPLAT_SERVER_URL)."),
    click.option("--token", help="Jupyter server token (default: from the server's runtime "
                                 "file)."),
]


def _with_server(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(server_options):
        func = option(func)
    return func


@click.group("tensorboard")
def tensorboard_group() -> None:
    """Open TensorBoard on a log dir (local or hdfs://) or a job, through the Jupyter server."""


@tensorboard_group.command("start")
@click.argument("logdir", required=False)
@click.option("--job", "job_id", help="Open the TensorBoard dir of this job.")
@_with_server
def start(logdir: str | None, job_id: str | None, url: str | None, token: str | None) -> None:
    """Start (or reuse) the TensorBoard of LOGDIR and print its URL."""
    if (logdir is None) == (job_id is None):
        raise click.UsageError("give a LOGDIR or --job ID")
    client = TensorBoardClient(url, token)
    board = client.start(None if logdir is None else notebook_arg(logdir), job_id)
    click.echo(f"{board.id}  {board.logdir}  {client.absolute(board)}")


@tensorboard_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@_with_server
def list_boards(as_json: bool, url: str | None, token: str | None) -> None:
    """Running TensorBoards."""
    client = TensorBoardClient(url, token)
    boards = client.list()
    if as_json:
        click.echo(json.dumps(boards.model_dump(mode="json"), indent=2))
        return
    if not boards.tensorboards:
        click.echo("no TensorBoard running (`mlp tensorboard start LOGDIR` opens one)")
    for board in boards.tensorboards:
        click.echo(f"{board.id}  {board.state:8} {board.logdir}  {client.absolute(board)}")


@tensorboard_group.command("stop")
@click.argument("tb_id")
@_with_server
def stop(tb_id: str, url: str | None, token: str | None) -> None:
    """Stop a TensorBoard."""
    TensorBoardClient(url, token).stop(tb_id)
    click.echo(f"stopped {tb_id}")
