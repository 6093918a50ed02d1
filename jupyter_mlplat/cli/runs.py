"""``mlp run``, ``mlp runs …`` and ``mlp schedules …``: the runs service from a terminal.

Parameters are read by the notebook's declared types, as in every entry point
(:mod:`jupyter_mlplat.entry.specs`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from ..entry.present import format_seconds, local_time, table
from ..entry.specs import coerce_parameters, declared_types, notebook_arg
from ..runs.schemas import Run, RunRequest, Schedule, ScheduleRequest, ScheduleUpdate
from .common import Failed, parameter_option, platform_of

if TYPE_CHECKING:
    from ..platform import Platform



def _values(platform: Platform, notebook: str, pairs: tuple[tuple[str, str], ...]
            ) -> dict[str, Any]:
    return coerce_parameters(pairs, declared_types(platform.jobs, notebook))


def runs_text(runs: list[Run]) -> str:
    if not runs:
        return "No runs yet. Start one with `mlp run NOTEBOOK -p NAME VALUE`."
    rows = [("ID", "STATE", "TRIGGER", "CREATED", "DURATION", "NOTEBOOK", "PARAMETERS")]
    rows += [(r.id, r.state.value, r.trigger, local_time(r.created), format_seconds(r.duration),
              r.notebook, json.dumps(r.parameters, default=str)) for r in runs]
    return table(rows)


def run_text(run: Run) -> str:
    lines = [f"{k:<10}{v}" for k, v in (
        ("run", run.id), ("state", run.state.value), ("notebook", run.notebook),
        ("params", json.dumps(run.parameters, default=str)), ("trigger", run.trigger),
        ("job", run.job_id or "-"), ("output", run.output or "-"),
        ("schedule", run.schedule_id or "-"), ("due", run.due_time or "-"),
        ("rerun of", run.parent_id or "-"), ("error", run.error or "-")) if v != "-"]
    lines += [f"warning   {w}" for w in run.warnings]
    return "\n".join(lines)


def schedules_text(schedules: list[Schedule]) -> str:
    if not schedules:
        return "No schedules. Create one with `mlp schedules create NOTEBOOK --cron '0 6 * * *'`."
    rows = [("ID", "NAME", "CRON", "TIMEZONE", "STATE", "NEXT", "NOTEBOOK")]
    rows += [(s.id, s.name, s.cron, s.timezone, "paused" if s.paused else "active",
              s.next_fire_times[0].isoformat() if s.next_fire_times else "-", s.notebook)
             for s in schedules]
    return table(rows)


def _start(ctx: click.Context, run: Run, wait: bool) -> None:
    click.echo(f"started run {run.id} (job {run.job_id}) of {run.notebook}")
    for warning in run.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not wait:
        return
    run = platform_of(ctx).runs.wait(run.id)
    if run.state.value != "succeeded":
        raise Failed(f"run {run.id} {run.state.value}" + (f": {run.error}" if run.error else ""))
    click.echo(f"run {run.id} succeeded; output {run.output}", err=True)


@click.command("run")
@click.argument("notebook")
@parameter_option
@click.option("--target", default="local", show_default=True, help="Compute target.")
@click.option("--runtime", default=None, help="Runtime (default: the first configured one).")
@click.option("--wait", is_flag=True, help="Block until the run ends; exit 1 unless it succeeded.")
@click.pass_context
def run_command(ctx: click.Context, notebook: str, parameters: tuple[tuple[str, str], ...],
                target: str, runtime: str | None, wait: bool) -> None:
    """Run NOTEBOOK with parameters (papermill); it joins the notebook's run history."""
    platform = platform_of(ctx)
    path = notebook_arg(notebook)
    request = RunRequest(notebook=path, parameters=_values(platform, path, parameters),
                         target=target, runtime=runtime)
    _start(ctx, platform.runs.create(request, platform.config.user), wait)


@click.group("runs")
def runs_group() -> None:
    """Run history: list, show, diff, rerun."""


@runs_group.command("list")
@click.option("--notebook", help="Only runs of this notebook.")
@click.option("--schedule", "schedule_id", help="Only runs of this schedule.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_runs(ctx: click.Context, notebook: str | None, schedule_id: str | None, limit: int,
              as_json: bool) -> None:
    """Runs, newest first."""
    platform = platform_of(ctx)
    page = platform.runs.page(notebook=notebook_arg(notebook) if notebook else None,
                              schedule_id=schedule_id, limit=limit)
    click.echo(page.model_dump_json(indent=2) if as_json else runs_text(page.runs))


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show_run(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """One run: parameters, state, output."""
    run = platform_of(ctx).runs.get(run_id)
    click.echo(run.model_dump_json(indent=2) if as_json else run_text(run))


@runs_group.command("diff")
@click.argument("a")
@click.argument("b")
@click.pass_context
def diff_runs(ctx: click.Context, a: str, b: str) -> None:
    """Parameters of run B against run A."""
    diff = platform_of(ctx).runs.diff(a, b)
    for name, value in diff.added.items():
        click.echo(f"+ {name} = {value!r}")
    for name, value in diff.removed.items():
        click.echo(f"- {name} = {value!r}")
    for name, change in diff.changed.items():
        click.echo(f"~ {name}: {change.a!r} -> {change.b!r}")
    if not (diff.added or diff.removed or diff.changed):
        click.echo("same parameters")


@runs_group.command("rerun")
@click.argument("run_id")
@parameter_option
@click.option("--wait", is_flag=True)
@click.pass_context
def rerun(ctx: click.Context, run_id: str, parameters: tuple[tuple[str, str], ...],
          wait: bool) -> None:
    """Run again with the run's parameters except those given."""
    platform = platform_of(ctx)
    old = platform.runs.get(run_id)
    _start(ctx, platform.runs.rerun(old.id, _values(platform, old.notebook, parameters)), wait)


@click.group("schedules")
def schedules_group() -> None:
    """Cron schedules of notebooks."""


@schedules_group.command("create")
@click.argument("notebook")
@click.option("--cron", required=True, help="Cron expression, e.g. '0 6 * * 1-5'.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@parameter_option
@click.option("--name")
@click.option("--target", default="local", show_default=True)
@click.option("--executor", type=click.Choice(["local", "kubernetes"]), default="local",
              show_default=True)
@click.option("--misfire", type=click.Choice(["run_once", "skip"]), default="run_once",
              show_default=True)
@click.option("--concurrency", type=click.Choice(["forbid", "allow", "replace"]),
              default="forbid", show_default=True)
@click.pass_context
def create_schedule(ctx: click.Context, notebook: str, cron: str, timezone: str,
                    parameters: tuple[tuple[str, str], ...], name: str | None, target: str,
                    executor: str, misfire: str, concurrency: str) -> None:
    """Schedule NOTEBOOK; each firing is a run."""
    platform = platform_of(ctx)
    path = notebook_arg(notebook)
    sched = platform.schedules.create(ScheduleRequest.model_validate({
        "notebook": path, "cron": cron, "timezone": timezone, "name": name, "target": target,
        "parameters": _values(platform, path, parameters), "executor": executor,
        "misfire_policy": misfire, "concurrency_policy": concurrency}), platform.config.user)
    click.echo(f"created schedule {sched.id}: {sched.description} ({sched.timezone})")
    for t in sched.next_fire_times[:3]:
        click.echo(f"  next {t.isoformat()}")


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_schedules(ctx: click.Context, as_json: bool) -> None:
    """Schedules with their next due time."""
    page = platform_of(ctx).schedules.page(limit=500)
    click.echo(page.model_dump_json(indent=2) if as_json else schedules_text(page.schedules))


def _set_paused(ctx: click.Context, schedule_id: str, paused: bool) -> None:
    sched = platform_of(ctx).schedules.update(schedule_id, ScheduleUpdate(paused=paused))
    click.echo(f"schedule {sched.id} {'paused' if paused else 'resumed'}")


@schedules_group.command("pause")
@click.argument("schedule_id")
@click.pass_context
def pause(ctx: click.Context, schedule_id: str) -> None:
    """Stop firing until resumed (missed due times are not made up)."""
    _set_paused(ctx, schedule_id, True)


@schedules_group.command("resume")
@click.argument("schedule_id")
@click.pass_context
def resume(ctx: click.Context, schedule_id: str) -> None:
    """Fire again from the next due time."""
    _set_paused(ctx, schedule_id, False)


@schedules_group.command("delete")
@click.argument("schedule_id")
@click.pass_context
def delete(ctx: click.Context, schedule_id: str) -> None:
    """Delete a schedule; its runs stay in the history."""
    platform_of(ctx).schedules.delete(schedule_id)
    click.echo(f"deleted schedule {schedule_id}")


@schedules_group.command("preview")
@click.argument("cron")
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True)
@click.pass_context
def preview(ctx: click.Context, cron: str, timezone: str, count: int) -> None:
    """The next due times of CRON, and CRON in words (nothing is stored)."""
    from ..runs.cron import preview as cron_preview

    words, times = cron_preview(cron, timezone, count)
    click.echo(words)
    for t in times:
        click.echo(f"  {t.isoformat()}  {t.strftime('%a %d %b %Y %H:%M:%S %Z')}")
