"""``mlp jobs submit|list|show|logs|cancel|rerun``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..entry.present import job_text, jobs_text
from ..entry.specs import coerce_parameters, declared_types, make_spec, notebook_arg
from ..entry.submit_options import click_options, spec_fields
from ..jobs.schemas import JobState
from .common import detached, finish, follow, parameter_option, platform_of, wait_option
from .common import wait as wait_job

STATES = [s.value for s in JobState]


@click.group()
def jobs() -> None:
    """Submit notebooks as jobs and follow them."""


@jobs.command("submit")
@click.argument("notebook", required=False)
@parameter_option
@click.option("--code-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Run this Python file's code instead of a notebook.")
@click_options
@wait_option
@click.option("-q", "--quiet", is_flag=True, help="Print only the job id.")
@click.pass_context
def submit(ctx: click.Context, notebook: str | None, code_file: Path | None, wait: bool,
           quiet: bool, parameters: tuple[tuple[str, str], ...], **options: Any) -> None:
    """Submit NOTEBOOK (relative to the current folder) as a job."""
    if (notebook is None) == (code_file is None):
        raise click.UsageError("give a NOTEBOOK or --code-file (one of them)")
    platform = platform_of(ctx)
    spec = make_spec(platform.jobs, notebook=notebook_arg(notebook) if notebook else None,
                     code=code_file.read_text() if code_file else None, parameters=parameters,
                     **spec_fields(options))
    job = platform.jobs.submit(spec, platform.config.user)
    click.echo(job.id if quiet else f"submitted job {job.id} ({job.name}) "
               f"to target {job.spec.target}")
    if wait:
        wait_job(platform.jobs, job)


@jobs.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES),
              help="Only jobs in this state (repeatable).")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The page of jobs as JSON.")
@click.pass_context
def list_jobs(ctx: click.Context, states: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Jobs, newest first."""
    platform = platform_of(ctx)
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
    platform = platform_of(ctx)
    platform.jobs.reconcile(platform.jobs.get(job_id).id)
    job = platform.jobs.get(job_id)
    click.echo(job.model_dump_json(indent=2) if as_json else job_text(job))


@jobs.command("logs")
@click.argument("job_id")
@click.option("-f", "--follow", "follow_log", is_flag=True,
              help="Keep printing until the job ends; exit 1 unless it succeeded.")
@click.pass_context
def logs(ctx: click.Context, job_id: str, follow_log: bool) -> None:
    """The job's log (cell output as it runs)."""
    platform = platform_of(ctx)
    job = platform.jobs.get(job_id)
    if not follow_log:
        click.echo(platform.jobs.logs(job.id).text, nl=False)
        return
    try:
        job = follow(platform.jobs, job, lambda text: click.echo(text, nl=False))
    except KeyboardInterrupt:
        detached(job)
    finish(job)


@jobs.command("cancel")
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Stop a job and everything it started."""
    platform = platform_of(ctx)
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
    platform = platform_of(ctx)
    parent = platform.jobs.get(job_id)
    values = coerce_parameters(parameters, declared_types(platform.jobs, parent.spec.notebook))
    job = platform.jobs.rerun(parent.id, values)
    click.echo(f"submitted job {job.id} ({job.name}), a rerun of {parent.id}")
    if wait:
        wait_job(platform.jobs, job)
