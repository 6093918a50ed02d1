"""``%mlp_submit`` and friends: jobs from a notebook cell, on the same store as the panel.

The magics hold a :class:`Platform` built from the environment the server gives its kernels
(``$MLPLAT_CONFIG_FILE``, ``$MLPLAT_ROOT_DIR``), so a job submitted here is the job the panel and
``mlp jobs list`` show. Every domain error becomes a one-line ``UsageError``, not a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display
from IPython.utils.process import arg_split

from . import envvars
from .entry import submit_options
from .entry.errors import USER_ERRORS, user_error
from .entry.present import duration, format_seconds, jobs_text
from .entry.specs import make_spec, notebook_arg
from .jobs.schemas import Job, JobState
from .widgets import JobMonitor, jobs_html

if TYPE_CHECKING:
    from .platform import Platform

F = TypeVar("F", bound=Callable[..., Any])
SESSION_ENV = "JPY_SESSION_NAME"


def _friendly(func: F) -> F:
    """Domain errors as IPython's ``UsageError``: one clear line instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            translated = user_error(exc)
            raise UsageError(translated.message if translated else str(exc)) from None

    return wrapper  # type: ignore[return-value]


class JobResult(Job):
    """The Job a ``--wait`` returns; its repr stays one line under the monitor."""

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name!r}: {self.state.value}>"

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text(repr(self))


@magics_class
class MLPlatMagics(Magics):
    """``%mlp_submit``, ``%%mlp_submit``, ``%mlp_jobs``, ``%mlp_logs``, ``%mlp_cancel``."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._platform: Platform | None = None
        self._platform_env: tuple[str | None, str | None] | None = None
        #: the monitors of jobs still running, by job id (a handle on their widgets)
        self.monitors: dict[str, JobMonitor] = {}

    @property
    def platform(self) -> Platform:
        """The platform of the server's settings (rebuilt if they change; not on ``%cd``)."""
        env = (os.environ.get(envvars.CONFIG), os.environ.get(envvars.ROOT_DIR))
        if self._platform is None or env != self._platform_env:
            from .platform import Platform

            if self._platform is not None:
                self._platform.close()
            self._platform = Platform.from_env()
            self._platform_env = env
        return self._platform

    def _args(self, magic: Callable[..., Any], line: str) -> Any:
        """Parsed arguments, or None after printing the help for ``-h``/``--help``."""
        # POSIX splitting, unlike IPython's default: `-p msg "a b"` gives the text without quotes
        argv = arg_split(line, posix=True)
        if {"-h", "--help"} & set(argv):  # checked first: a missing JOB must not hide the help
            print(magic.__doc__)
            return None
        return magic.parser.parse_args(argv)  # type: ignore[attr-defined]

    # -- %mlp_submit / %%mlp_submit --------------------------------------------------------
    @magic_arguments()
    @argument("notebook", nargs="?",
              help="Notebook to submit, relative to the kernel's folder (default: this one).")
    @argument("-p", "--parameter", dest="parameters", nargs=2, action="append", default=[],
              metavar=("NAME", "VALUE"), help="A notebook parameter (repeatable).")
    @submit_options.magic_arguments
    @argument("--wait", action="store_true", help="Block until the job ends; return the Job.")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_cell_magic
    @_friendly
    def mlp_submit(self, line: str, cell: str | None = None) -> Job | None:
        """Submit a notebook (line magic) or this cell's code (cell magic) as a job.

        Values given with ``-p`` are read as the notebook declares them (``-p lr 0.1`` is a
        float if ``lr`` is). The job appears in the ML Platform panel and in ``mlp jobs list``.
        """
        args = self._args(self.mlp_submit, line)
        if args is None:
            return None
        jobs = self.platform.jobs
        notebook = None
        if cell is None:
            notebook = notebook_arg(args.notebook) if args.notebook else self._this_notebook()
        elif args.notebook:
            raise UsageError("%%mlp_submit runs the cell's code; give no NOTEBOOK")
        spec = make_spec(jobs, notebook=notebook, code=cell, parameters=args.parameters,
                         **submit_options.spec_fields(vars(args)))
        job = jobs.submit(spec, self.platform.config.user)
        monitor = JobMonitor(jobs, job)
        monitor.start()
        self.monitors = {k: m for k, m in self.monitors.items() if not m.job.state.final}
        self.monitors[job.id] = monitor
        if not args.wait:
            return None
        try:
            job = monitor.wait()
        except KeyboardInterrupt:
            print(f"stopped waiting; job {job.id} keeps running (%mlp_cancel {job.id} stops it)",
                  file=sys.stderr)
            return None
        self._report(job)
        return JobResult.model_validate(job.model_dump())

    def _this_notebook(self) -> str:
        """The notebook this kernel belongs to, as Jupyter told it at start (saved version)."""
        name = (self.shell.user_ns.get("__session__") if self.shell else None) \
            or os.environ.get(SESSION_ENV)
        if not name:
            raise UsageError("this kernel does not know its notebook; name it: "
                             "%mlp_submit NOTEBOOK")
        path = Path(str(name))
        candidates = [path] if path.is_absolute() else [self.platform.root_dir / path,
                                                         Path.cwd() / path]
        for candidate in candidates:
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return str(candidate.resolve())
        raise UsageError(f"cannot find this kernel's notebook {str(name)!r} (renamed or not "
                         "saved?); name it: %mlp_submit NOTEBOOK")

    @staticmethod
    def _report(job: Job) -> None:
        if job.state is not JobState.succeeded:
            detail = f": {job.error}" if job.error else ""
            print(f"job {job.id} {job.state.value}{detail}", file=sys.stderr)

    # -- %mlp_jobs ---------------------------------------------------------------------------
    @magic_arguments()
    @argument("--state", action="append", choices=[s.value for s in JobState],
              help="Only this state (repeatable).")
    @argument("--limit", type=int, default=20, help="How many jobs (default 20).")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_magic
    @_friendly
    def mlp_jobs(self, line: str) -> None:
        """The platform's jobs, newest first (the same list as the panel)."""
        args = self._args(self.mlp_jobs, line)
        if args is None:
            return
        jobs = self.platform.jobs
        jobs.reconcile()
        page = jobs.page(state=args.state or None, limit=max(1, min(args.limit, 500)))
        more = (f"\n({len(page.jobs)} of {page.total_text}; --limit shows more)"
                if page.next is not None else "")
        display({"text/html": jobs_html(page.jobs) + more.replace("\n", "<br>"),
                 "text/plain": jobs_text(page.jobs) + more}, raw=True)

    # -- %mlp_logs ---------------------------------------------------------------------------
    @magic_arguments()
    @argument("job", help="Job id.")
    @argument("-f", "--follow", action="store_true", help="Keep printing until the job ends.")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_magic
    @_friendly
    def mlp_logs(self, line: str) -> None:
        """A job's log; with ``--follow``, printed as it grows until the job ends."""
        args = self._args(self.mlp_logs, line)
        if args is None:
            return
        jobs = self.platform.jobs
        job = jobs.get(args.job)
        if not args.follow:
            print(jobs.logs(job.id).text, end="")
            return
        try:
            job = JobMonitor(jobs, job, use_widgets=False).wait()
        except KeyboardInterrupt:
            print(f"stopped following; job {job.id} keeps running", file=sys.stderr)
            return
        print(f"job {job.id} {job.state.value} after {format_seconds(duration(job))}")
        self._report(job)

    # -- %mlp_run --------------------------------------------------------------------------
    @magic_arguments()
    @argument("notebook", help="Notebook to run, relative to the kernel's folder.")
    @argument("-p", "--parameter", dest="parameters", nargs=2, action="append", default=[],
              metavar=("NAME", "VALUE"), help="A notebook parameter (repeatable).")
    @argument("--target", default="local", help="Compute target (default: local).")
    @argument("--wait", action="store_true", help="Block until the run ends; return the Run.")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_magic
    @_friendly
    def mlp_run(self, line: str) -> Any:
        """Run a notebook with parameters (papermill); it joins the notebook's run history."""
        from .entry.specs import coerce_parameters, declared_types
        from .runs.schemas import RunRequest

        args = self._args(self.mlp_run, line)
        if args is None:
            return None
        platform = self.platform
        path = notebook_arg(args.notebook)
        values = coerce_parameters(args.parameters, declared_types(platform.jobs, path))
        run = platform.runs.create(RunRequest(notebook=path, parameters=values,
                                              target=args.target), platform.config.user)
        for warning in run.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if run.job_id is not None:
            monitor = JobMonitor(platform.jobs, platform.jobs.get(run.job_id))
            monitor.start()
            self.monitors[run.job_id] = monitor
        print(f"run {run.id} of {run.notebook}")
        return platform.runs.wait(run.id) if args.wait else None

    # -- %mlp_tensorboard -------------------------------------------------------------------
    @magic_arguments()
    @argument("logdir", nargs="?",
              help="Log dir: a folder (relative to the kernel's folder) or hdfs://cluster/path.")
    @argument("--job", help="Open this job's TensorBoard dir instead.")
    @argument("--link", action="store_true", help="Show a link instead of an inline frame.")
    @argument("--height", type=int, default=640, help="Frame height in pixels (default 640).")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_magic
    @_friendly
    def mlp_tensorboard(self, line: str) -> None:
        """Open TensorBoard on a log dir or a job, served by the Jupyter server, inline or as a
        link (one instance per log dir: running it again reuses it)."""
        from IPython.display import HTML, IFrame

        from .tensorboard.client import TensorBoardClient

        args = self._args(self.mlp_tensorboard, line)
        if args is None:
            return
        if (args.logdir is None) == (args.job is None):
            raise UsageError("give a LOGDIR or --job ID")
        logdir = None if args.logdir is None else notebook_arg(args.logdir)
        board = TensorBoardClient().start(logdir, args.job)
        if args.link:
            display(HTML(f'<a href="{board.url}" target="_blank">TensorBoard: {board.logdir}'
                         "</a>"))
        else:
            display(IFrame(board.url, width="100%", height=args.height))

    # -- %mlp_publish ------------------------------------------------------------------------
    @magic_arguments()
    @argument("path", help="File or folder to publish (relative to the kernel's folder, or "
                           "hdfs://cluster/path).")
    @argument("--name", required=True, help="Model name.")
    @argument("--metric", dest="metrics", action="append", default=[], metavar="NAME=VALUE",
              help="A metric (repeatable).")
    @argument("--job", help="The finished job that produced it (lineage).")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_magic
    @_friendly
    def mlp_publish(self, line: str) -> Any:
        """Publish a model as its next immutable version, with this notebook as lineage."""
        from .entry.specs import parse_metrics
        from .models.schemas import PublishRequest

        args = self._args(self.mlp_publish, line)
        if args is None:
            return None
        metrics = parse_metrics(args.metrics)
        platform = self.platform
        notebook = None
        if args.job is None:
            try:
                notebook = str(Path(self._this_notebook()).relative_to(
                    platform.root_dir.resolve()))
            except (UsageError, ValueError):
                notebook = None  # lineage without a notebook rather than no publish
        version = platform.models.publish(
            PublishRequest(path=notebook_arg(args.path), name=args.name, metrics=metrics,
                           job_id=args.job, notebook=notebook), platform.config.user)
        print(f"published {version.name} version {version.version} at {version.uri}")
        return version

    # -- %mlp_cancel -------------------------------------------------------------------------
    @magic_arguments()
    @argument("job", help="Job id.")
    @argument("-h", "--help", action="store_true", help="Show this help.")
    @line_magic
    @_friendly
    def mlp_cancel(self, line: str) -> None:
        """Stop a job and everything it started."""
        args = self._args(self.mlp_cancel, line)
        if args is None:
            return
        job = self.platform.jobs.cancel(args.job)
        print(f"cancelled job {job.id} ({job.name})")

