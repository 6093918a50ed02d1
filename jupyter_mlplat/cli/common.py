"""What the ``mlp`` command groups share: one platform per invocation, exit statuses, the
parameter and wait options, and following a job until it ends."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..entry.errors import user_error
from ..entry.present import duration, format_seconds
from ..jobs.schemas import Job, JobState

if TYPE_CHECKING:
    from ..jobs.service import JobService
    from ..platform import Platform

POLL = 0.5

parameter_option = click.option(
    "-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
    help="A notebook parameter; the value is read as the notebook declares it (repeatable).")
wait_option = click.option("--wait", is_flag=True,
                           help="Block until the job ends; exit 1 unless it succeeded.")


class BadInput(click.ClickException):
    """What the user typed cannot be run (unknown name, bad value): exit status 2."""

    exit_code = 2


class Failed(click.ClickException):
    """The request was valid but did not succeed (not found, conflict, job failed): status 1."""

    exit_code = 1


def to_click(exc: Exception) -> click.ClickException:
    """A domain error as the exception click prints, with its exit status."""
    error = user_error(exc)
    if error is None:  # pragma: no cover - callers pass the errors user_error knows
        return Failed(str(exc))
    return BadInput(error.message) if error.bad_input else Failed(error.message)


def platform_of(ctx: click.Context) -> Platform:
    """One platform per invocation (imported late: ``mlp --help`` stays instant)."""
    root = ctx.find_root()
    if root.obj is None:
        from ..platform import Platform

        root.obj = Platform.from_env()
        root.call_on_close(root.obj.close)
    platform: Platform = root.obj
    return platform


def _progress_bar(job: Job) -> Any:
    from tqdm import tqdm

    return tqdm(total=None, file=sys.stderr, disable=None, desc=f"{job.id} {job.state.value}",
                bar_format="{desc} [{elapsed}]", leave=False)


def follow(jobs: JobService, job: Job, on_text: Callable[[str], None] | None) -> Job:
    """Read the store until the job is final (and, with ``on_text``, its log is fully read):
    as soon as the Jupyter server pushes a change of it, or every ``POLL`` seconds without."""
    from ..entry.pushed import JobWaker

    bar = _progress_bar(job)
    offset = 0
    waker = JobWaker(job.id).start()
    try:
        while True:
            jobs.reconcile(job.id)
            job = jobs.get(job.id)
            bar.set_description_str(f"{job.id} {job.state.value}", refresh=False)
            bar.update(0)
            complete = True
            if on_text is not None:
                chunk = jobs.logs(job.id, offset)
                offset = chunk.offset
                complete = chunk.complete
                if chunk.text:
                    bar.clear()
                    on_text(chunk.text)
                    bar.refresh()
            if job.state.final and complete:
                return job
            waker.wait(POLL)
    finally:
        waker.close()
        bar.close()


def finish(job: Job) -> None:
    """Report a final job on stderr; exit 1 unless it succeeded."""
    took = format_seconds(duration(job))
    if job.state is JobState.succeeded:
        out = f"; output {job.outputs.notebook}" if job.outputs.notebook else ""
        click.echo(f"job {job.id} succeeded in {took}{out}", err=True)
        return
    detail = f": {job.error}" if job.error else ""
    raise Failed(f"job {job.id} {job.state.value} after {took}{detail}")


def wait(jobs: JobService, job: Job) -> None:
    try:
        job = follow(jobs, job, None)
    except KeyboardInterrupt:
        detached(job)
    finish(job)


def detached(job: Job) -> NoReturn:
    click.echo(f"\nstopped waiting; job {job.id} keeps running "
               f"(`mlp jobs cancel {job.id}` stops it)", err=True)
    sys.exit(130)
