"""``mlp``: the platform from a terminal, on the same services and database as the server.

A job submitted here shows up in the JupyterLab panel and in ``%mlp_jobs``, and the other way
round, because :meth:`Platform.from_env` reads the config and root the server hands its
terminals. The helpers at the top (spec building, parameter coercion, durations) are shared with
the magics so a value is read the same way in a cell and in a shell.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from pydantic import ValidationError

from . import __version__
from .config import ConfigError, UnknownName, format_validation_error
from .devcluster.cli import devcluster
from .errors import InvalidRequest, MLPlatError
from .jobs.models import Job, JobSpec, JobState
from .models.cli import models_group
from .runs.cli import run_command, runs_group, schedules_group
from .tensorboard.cli import tensorboard_group

if TYPE_CHECKING:
    from .jobs.service import JobService
    from .platform import Platform

STATES = [s.value for s in JobState]
POLL = 0.5


# -- shared by the CLI and the magics -----------------------------------------------------------
def notebook_arg(path: str, cwd: Path | None = None) -> str:
    """A notebook named relative to the caller's cwd, as the absolute path the service resolves.

    The service accepts absolute paths inside the Jupyter root and stores them relative to it,
    so a kernel or shell started in a sub-folder can name notebooks the way its user sees them.
    """
    if "://" in path:
        return path
    return str(((cwd or Path.cwd()) / Path(path).expanduser()).resolve())


def coerce_parameters(pairs: Iterable[Sequence[str]], types: dict[str, str]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as Python values, guided by the notebook's declared types.

    Names the notebook does not declare are passed through (as ``any``) so that the service
    refuses them with the one message every entry point shows.
    """
    from .parameters import coerce

    return {name: coerce(value, types.get(name, "any")) for name, value in pairs}


def declared_types(jobs: JobService, notebook: str | None) -> dict[str, str]:
    """Parameter name -> declared type of a notebook under the root (empty for code jobs)."""
    from .parameters import declared_type

    if notebook is None or "://" in notebook:
        return {}
    return {p.name: declared_type(p) for p in jobs.inspect(notebook).parameters}


def make_spec(jobs: JobService, *, notebook: str | None = None, code: str | None = None,
              parameters: Iterable[Sequence[str]] = (), cpu: str | None = None,
              memory: str | None = None, gpus: int | None = None,
              **fields: Any) -> JobSpec:
    """A :class:`JobSpec` from command-line style options; unset options keep the defaults."""
    values = coerce_parameters(parameters, declared_types(jobs, notebook))
    resources = {k: v for k, v in (("cpu", cpu), ("memory", memory), ("gpu", gpus))
                 if v is not None}
    data: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    return JobSpec.model_validate({"notebook": notebook, "code": code, "parameters": values,
                                   "resources": resources, **data})


def duration(job: Job, now: dt.datetime | None = None) -> float | None:
    """Seconds the job has run (or ran); None before it started."""
    if job.started is None:
        return None
    end = job.finished or now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (end - job.started).total_seconds())


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def local_time(value: dt.datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def job_source(job: Job) -> str:
    return job.spec.notebook or "(cell code)"


def jobs_text(jobs: Sequence[Job]) -> str:
    """A plain-text table of jobs, newest first (as the store pages them)."""
    if not jobs:
        return "No jobs yet. Submit one with `mlp jobs submit NOTEBOOK` or `%mlp_submit`."
    rows = [("ID", "NAME", "STATE", "TARGET", "CREATED", "DURATION", "SOURCE")]
    rows += [(j.id, j.name, j.state.value, j.spec.target, local_time(j.created),
              format_seconds(duration(j)), job_source(j)) for j in jobs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def job_text(job: Job) -> str:
    """One job with its timeline of events, for ``mlp jobs show``."""
    lines = [
        f"job       {job.id}",
        f"name      {job.name}",
        f"state     {job.state.value}",
        f"source    {job_source(job)}",
        f"target    {job.spec.target} (runtime {job.spec.runtime}, kind {job.spec.kind})",
        f"user      {job.user}",
        f"created   {local_time(job.created)}",
        f"duration  {format_seconds(duration(job))}",
    ]
    if job.spec.parameters:
        lines.append(f"params    {json.dumps(job.spec.parameters, default=str)}")
    if job.parent_id:
        lines.append(f"rerun of  {job.parent_id}")
    if job.image:
        lines.append(f"image     {job.image}")
    if job.k8s_object:
        k8s = job.k8s_object
        lines.append(f"object    {k8s.kind} {k8s.namespace}/{k8s.name}")
    if job.outputs.notebook:
        lines.append(f"output    {job.outputs.notebook}")
    if job.error:
        lines.append("error     " + job.error.replace("\n", "\n          "))
    lines.append("timeline")
    for ev in job.events:
        offset = (ev.time - job.created).total_seconds()
        state = ev.state.value if ev.state else ""
        lines.append(f"  {local_time(ev.time)}  +{offset:7.1f}s  {state:<10} {ev.message}")
    return "\n".join(lines)


# -- errors -------------------------------------------------------------------------------------
class BadInput(click.ClickException):
    """What the user typed cannot be run (unknown name, bad value): exit status 2."""

    exit_code = 2


class Failed(click.ClickException):
    """The request was valid but did not succeed (not found, conflict, job failed): status 1."""

    exit_code = 1


def user_error(exc: Exception) -> click.ClickException | None:
    """The message and exit status a domain error means to a user (None: not ours)."""
    if isinstance(exc, InvalidRequest | UnknownName):
        return BadInput(exc.message if isinstance(exc, MLPlatError) else str(exc))
    if isinstance(exc, ValidationError):
        return BadInput(format_validation_error(exc, "job spec"))
    if isinstance(exc, MLPlatError):
        return Failed(exc.message)
    if isinstance(exc, ConfigError):
        return Failed(str(exc))
    return None


class _Group(click.Group):
    """The root group: domain errors become one line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (MLPlatError, UnknownName, ValidationError, ConfigError) as exc:
            translated = user_error(exc)
            if translated is None:  # pragma: no cover - the tuple above is what we translate
                raise
            raise translated from exc


# -- progress -----------------------------------------------------------------------------------
def _platform(ctx: click.Context) -> Platform:
    """One platform per invocation (imported late: ``mlp --help`` stays instant)."""
    if ctx.obj is None:
        from .platform import Platform

        ctx.obj = Platform.from_env()
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj


def _progress_bar(job: Job) -> Any:
    from tqdm import tqdm

    return tqdm(total=None, file=sys.stderr, disable=None, desc=f"{job.id} {job.state.value}",
                bar_format="{desc} [{elapsed}]", leave=False)


def _follow(jobs: JobService, job: Job, on_text: Callable[[str], None] | None) -> Job:
    """Poll the store until the job is final (and, with ``on_text``, its log is fully read)."""
    bar = _progress_bar(job)
    offset = 0
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
            time.sleep(POLL)
    finally:
        bar.close()


def _finish(job: Job) -> None:
    """Report a final job on stderr; exit 1 unless it succeeded."""
    took = format_seconds(duration(job))
    if job.state is JobState.succeeded:
        out = f"; output {job.outputs.notebook}" if job.outputs.notebook else ""
        click.echo(f"job {job.id} succeeded in {took}{out}", err=True)
        return
    detail = f": {job.error}" if job.error else ""
    raise Failed(f"job {job.id} {job.state.value} after {took}{detail}")


def _wait(jobs: JobService, job: Job) -> None:
    try:
        job = _follow(jobs, job, None)
    except KeyboardInterrupt:
        _detached(job)
    _finish(job)


def _detached(job: Job) -> NoReturn:
    click.echo(f"\nstopped waiting; job {job.id} keeps running "
               f"(`mlp jobs cancel {job.id}` stops it)", err=True)
    sys.exit(130)


# -- commands -----------------------------------------------------------------------------------
@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlp")
def cli() -> None:
    """The ML platform from the command line: the same jobs as the JupyterLab panel."""


cli.add_command(devcluster)
cli.add_command(tensorboard_group)
cli.add_command(models_group)
cli.add_command(run_command)
cli.add_command(runs_group)
cli.add_command(schedules_group)


@cli.group()
def jobs() -> None:
    """Submit notebooks as jobs and follow them."""


parameter_option = click.option(
    "-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
    help="A notebook parameter; the value is read as the notebook declares it (repeatable).")
wait_option = click.option("--wait", is_flag=True,
                           help="Block until the job ends; exit 1 unless it succeeded.")


@jobs.command("submit")
@click.argument("notebook", required=False)
@parameter_option
@click.option("--code-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run this Python file's code instead of a notebook.")
@click.option("--target", help="Compute target (default: local).")
@click.option("--runtime", help="Runtime (default: default).")
@click.option("--name", help="Display name (default: the notebook's name).")
@click.option("--cpu", help="CPU request, e.g. 2 or 500m.")
@click.option("--memory", help="Memory request, e.g. 4Gi.")
@click.option("--gpus", type=click.IntRange(min=0), help="Number of GPUs.")
@click.option("--workers", type=click.IntRange(min=0), help="Worker replicas (pytorch/tf).")
@click.option("--kind", type=click.Choice(["job", "pytorch", "tf"]), help="Kind of job.")
@click.option("--output", help="Output folder under the root (default: mlplat-outputs/).")
@click.option("--timeout", type=click.IntRange(min=1), help="Seconds before the job is stopped.")
@wait_option
@click.option("-q", "--quiet", is_flag=True, help="Print only the job id.")
@click.pass_context
def submit(ctx: click.Context, notebook: str | None, code_file: Path | None, wait: bool,
           quiet: bool, parameters: tuple[tuple[str, str], ...], **options: Any) -> None:
    """Submit NOTEBOOK (relative to the current folder) as a job."""
    if (notebook is None) == (code_file is None):
        raise click.UsageError("give a NOTEBOOK or --code-file (one of them)")
    platform = _platform(ctx)
    spec = make_spec(platform.jobs, notebook=notebook_arg(notebook) if notebook else None,
                     code=code_file.read_text() if code_file else None, parameters=parameters,
                     **options)
    job = platform.jobs.submit(spec, platform.config.user)
    click.echo(job.id if quiet else f"submitted job {job.id} ({job.name}) "
               f"to target {job.spec.target}")
    if wait:
        _wait(platform.jobs, job)


@jobs.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES),
              help="Only jobs in this state (repeatable).")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The page of jobs as JSON.")
@click.pass_context
def list_jobs(ctx: click.Context, states: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Jobs, newest first."""
    platform = _platform(ctx)
    platform.jobs.reconcile()  # outside a server nothing else notices a vanished runner
    page = platform.jobs.page(state=list(states) or None, limit=limit)
    if as_json:
        click.echo(page.model_dump_json(indent=2))
        return
    click.echo(jobs_text(page.jobs))
    if page.next is not None:
        click.echo(f"({len(page.jobs)} of {page.total_text}; --limit shows more)", err=True)


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="The job (spec, events, outputs) as JSON.")
@click.pass_context
def show(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """One job: spec, state, outputs and the timeline of its events."""
    platform = _platform(ctx)
    platform.jobs.reconcile(platform.jobs.get(job_id).id)
    job = platform.jobs.get(job_id)
    click.echo(job.model_dump_json(indent=2) if as_json else job_text(job))


@jobs.command("logs")
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing until the job ends; exit 1 unless it succeeded.")
@click.pass_context
def logs(ctx: click.Context, job_id: str, follow: bool) -> None:
    """The job's log (cell output as it runs)."""
    platform = _platform(ctx)
    job = platform.jobs.get(job_id)
    if not follow:
        click.echo(platform.jobs.logs(job.id).text, nl=False)
        return
    try:
        job = _follow(platform.jobs, job, lambda text: click.echo(text, nl=False))
    except KeyboardInterrupt:
        _detached(job)
    _finish(job)


@jobs.command("cancel")
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Stop a job and everything it started."""
    platform = _platform(ctx)
    job = platform.jobs.cancel(job_id)
    click.echo(f"cancelled job {job.id} ({job.name})")


@jobs.command("rerun")
@click.argument("job_id")
@parameter_option
@wait_option
@click.pass_context
def rerun(ctx: click.Context, job_id: str, parameters: tuple[tuple[str, str], ...],
          wait: bool) -> None:
    """Run a job again, with the same parameters except those given."""
    platform = _platform(ctx)
    parent = platform.jobs.get(job_id)
    values = coerce_parameters(parameters, declared_types(platform.jobs, parent.spec.notebook))
    job = platform.jobs.rerun(parent.id, values)
    click.echo(f"submitted job {job.id} ({job.name}), a rerun of {parent.id}")
    if wait:
        _wait(platform.jobs, job)


def main() -> None:
    """The ``mlp`` console script."""
    cli(prog_name="mlp")


if __name__ == "__main__":
    main()
