"""What ``%mlp_submit`` shows: a live monitor of one job, and HTML for job tables.

The monitor reads the store (the same database the panel reads) from a background thread, so
the notebook stays usable while the job runs: as soon as the Jupyter server pushes a change of
the job (``entry.pushed``), and at ``poll`` intervals only without one; ipywidgets may be
updated from any thread. In a frontend without widgets (terminal IPython, papermill) it falls
back to plain text.
"""

from __future__ import annotations

import collections
import html
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .entry.present import duration, format_seconds, job_source, local_time
from .errors import MLPlatError, NotFound
from .jobs.schemas import Job, JobState

if TYPE_CHECKING:
    from .jobs.service import JobService

POLL = 0.5
TAIL_LINES = 20
#: the frontend's command that opens a job's detail; JupyterLab's command linker runs it on click
OPEN_JOB_COMMAND = "mlplat:open-job"

# JupyterLab theme variables first, so chips follow light and dark themes; fallbacks elsewhere.
STATE_COLORS: dict[JobState, str] = {
    JobState.queued: "var(--jp-layout-color4, #757575)",
    JobState.building: "var(--jp-warn-color1, #f57c00)",
    JobState.pushing: "var(--jp-warn-color1, #f57c00)",
    JobState.submitted: "var(--jp-warn-color1, #f57c00)",
    JobState.pending: "var(--jp-warn-color1, #f57c00)",
    JobState.running: "var(--jp-brand-color1, #1976d2)",
    JobState.succeeded: "var(--jp-success-color1, #388e3c)",
    JobState.failed: "var(--jp-error-color1, #d32f2f)",
    JobState.cancelled: "var(--jp-layout-color3, #9e9e9e)",
}


def state_chip(state: JobState) -> str:
    return (f'<span class="mlplat-state mlplat-state-{state.value}" style="background:'
            f'{STATE_COLORS[state]};color:#fff;border-radius:8px;padding:1px 8px;'
            f'font-size:0.85em;white-space:nowrap">{state.value}</span>')


def jobs_html(jobs: Sequence[Job]) -> str:
    """An HTML table of jobs with state chips, for ``%mlp_jobs`` in a notebook."""
    if not jobs:
        return "<p>No jobs yet. Submit one with <code>%mlp_submit NOTEBOOK</code>.</p>"
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                   ("Job", "Name", "State", "Target", "Created", "Duration", "Source"))
    rows = [
        "<tr>" + "".join(f"<td style='text-align:left'>{cell}</td>" for cell in (
            f"<code>{html.escape(j.id)}</code>", html.escape(j.name), state_chip(j.state),
            html.escape(j.spec.target), local_time(j.created), format_seconds(duration(j)),
            html.escape(job_source(j)),
        )) + "</tr>"
        for j in jobs
    ]
    return (f"<table class='mlplat-jobs'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def open_job_link(job_id: str) -> str:
    """A link to the job detail in JupyterLab (inert text in other frontends)."""
    args = html.escape(json.dumps({"id": job_id}), quote=True)
    return (f'<span data-commandlinker-command="{OPEN_JOB_COMMAND}" '
            f'data-commandlinker-args="{args}" title="Open job {html.escape(job_id)} in the ML '
            'Platform panel" style="cursor:pointer;text-decoration:underline">details</span>')


def widget_frontend() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed (a terminal shell has no kernel)."""
    from IPython import get_ipython

    shell = get_ipython()
    return (getattr(shell, "kernel", None) is not None
            and importlib.util.find_spec("ipywidgets") is not None)


def elapsed_text(job: Job) -> str:
    """Run time once started; before that, how long it has been waiting."""
    took = duration(job)
    if took is not None:
        return format_seconds(took)
    waited = time.time() - job.created.timestamp()
    return f"waiting {format_seconds(max(0.0, waited))}"


class LogTail:
    """The last lines of a growing log, fed chunk by chunk (chunks split lines anywhere)."""

    def __init__(self, lines: int = TAIL_LINES) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._partial = ""

    def feed(self, text: str) -> None:
        parts = (self._partial + text).split("\n")
        self._partial = parts.pop()
        self._lines.extend(parts)

    def text(self) -> str:
        lines = [*self._lines, self._partial] if self._partial else list(self._lines)
        return "\n".join(lines[-(self._lines.maxlen or TAIL_LINES):])


class JobMonitor:
    """Follows one job: state chip, elapsed time, log tail and a Cancel button.

    ``start()`` shows it and returns at once (a thread keeps it current until the job is
    final); ``wait()`` then blocks until the job is final and returns it.
    """

    def __init__(self, jobs: JobService, job: Job, *, poll: float = POLL,
                 tail_lines: int = TAIL_LINES, use_widgets: bool | None = None,
                 out: TextIO | None = None) -> None:
        self.jobs = jobs
        self.job = job
        self.poll = poll
        self.tail = LogTail(tail_lines)
        self.use_widgets = widget_frontend() if use_widgets is None else use_widgets
        self.out = out
        self._offset = 0
        self._complete = False
        self._thread: threading.Thread | None = None
        self._view: _WidgetView | None = None

    # -- polling ---------------------------------------------------------------------------
    def refresh(self) -> str:
        """Read the job and any new log text from the store; return the new text."""
        self.jobs.reconcile(self.job.id)  # outside a server nothing else notices a lost runner
        self.job = self.jobs.get(self.job.id)
        chunk = self.jobs.logs(self.job.id, self._offset)
        self._offset = chunk.offset
        self.tail.feed(chunk.text)
        self._complete = chunk.complete
        return chunk.text

    @property
    def done(self) -> bool:
        return self.job.state.final and self._complete

    def _waker(self) -> Any:
        from .entry.pushed import JobWaker

        return JobWaker(self.job.id).start()

    def _loop(self) -> None:
        assert self._view is not None
        waker = self._waker()
        try:
            self._follow(waker)
        finally:
            waker.close()

    def _follow(self, waker: Any) -> None:
        assert self._view is not None
        while True:
            try:
                self.refresh()
                self._view.update(self)
            except NotFound as exc:  # deleted meanwhile: nothing left to follow
                self._view.message(exc.message)
                return
            except Exception as exc:  # a transient store error must not kill the monitor
                self._view.message(f"cannot read the job: {exc}")
            if self.done:
                return
            waker.wait(self.poll)

    # -- showing ---------------------------------------------------------------------------
    def start(self) -> None:
        if not self.use_widgets:
            self._print(f"job {self.job.id} ({self.job.name}) submitted to "
                        f"{self.job.spec.target}: {self.job.state.value}. Follow it in the "
                        f"ML Platform panel or with %mlp_logs {self.job.id} --follow")
            return
        from IPython.display import display

        self._view = _WidgetView(self)
        display(self._view.bundle(), raw=True)
        self._thread = threading.Thread(target=self._loop, name=f"mlplat-monitor-{self.job.id}",
                                        daemon=True)
        self._thread.start()

    def wait(self) -> Job:
        """Block until the job is final (KeyboardInterrupt stops waiting, not the job)."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.2)
            return self.job
        return self._wait_text()

    def _wait_text(self) -> Job:
        waker = self._waker()
        try:
            return self._follow_text(waker)
        finally:
            waker.close()

    def _follow_text(self, waker: Any) -> Job:
        state = self.job.state
        while True:
            text = self.refresh()
            if text:
                self._write(text)
            if self.job.state is not state:
                state = self.job.state
                self._print(f"[{elapsed_text(self.job)}] job {self.job.id} {state.value}")
            if self.done:
                return self.job
            waker.wait(self.poll)

    def cancel(self) -> None:
        self.jobs.cancel(self.job.id)

    def _print(self, line: str) -> None:
        self._write(line + "\n")

    def _write(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(text)
        out.flush()


class _WidgetView:
    """The ipywidgets of one monitor; built in the kernel's thread, updated from the poller's."""

    def __init__(self, monitor: JobMonitor) -> None:
        import ipywidgets as w

        self.monitor = monitor
        job = monitor.job
        self.header = w.HTML()
        self.logs = w.HTML(layout=w.Layout(max_height="22em", overflow="auto"))
        self.status = w.HTML()
        self.cancel_button = w.Button(
            description="Cancel", icon="stop", button_style="danger",
            tooltip=f"Stop job {job.id} and everything it started",
            layout=w.Layout(width="auto"),
        )
        self.cancel_button.on_click(self._on_cancel)
        self.actions = w.HBox([self.cancel_button, self.status])
        self.box = w.VBox([self.header, self.logs, self.actions],
                          layout=w.Layout(border="1px solid var(--jp-border-color2, #ccc)",
                                          padding="4px 8px"))
        self.update(monitor)

    def bundle(self) -> dict[str, Any]:
        """The widget, with a useful text for frontends that cannot render widgets."""
        data: dict[str, Any] = dict(self.box._repr_mimebundle_() or {})
        job = self.monitor.job
        data["text/plain"] = (f"job {job.id} ({job.name}) on {job.spec.target}; "
                              f"%mlp_logs {job.id} shows its log")
        return data

    def update(self, monitor: JobMonitor) -> None:
        job = monitor.job
        self.header.value = (
            f"<b>{html.escape(job.name)}</b> &nbsp; job <code>{html.escape(job.id)}</code>"
            f" on {html.escape(job.spec.target)} &nbsp; {state_chip(job.state)}"
            f" &nbsp; <span class='mlplat-elapsed'>{elapsed_text(job)}</span>"
            f" &nbsp; {open_job_link(job.id)}"
        )
        tail = monitor.tail.text()
        self.logs.value = (
            "<pre style='margin:2px 0;font-size:0.85em;white-space:pre-wrap'>"
            f"{html.escape(tail) or '<i>no output yet</i>'}</pre>"
        )
        if job.state.final:
            # An ended job has nothing to cancel: the button goes (not just greyed out).
            self.cancel_button.disabled = True
            if self.cancel_button in self.actions.children:
                self.actions.children = (self.status,)
            self.status.value = self._final_text(job)

    def _final_text(self, job: Job) -> str:
        if job.state is JobState.succeeded:
            where = job.outputs.notebook
            return f"output: <code>{html.escape(where)}</code>" if where else ""
        if job.error:
            return (f"<span style='color:var(--jp-error-color1, #d32f2f)'>"
                    f"{html.escape(job.error.splitlines()[0])}</span>")
        return ""

    def message(self, text: str) -> None:
        self.status.value = html.escape(text)

    def _on_cancel(self, _button: Any) -> None:
        self.cancel_button.disabled = True
        try:
            self.monitor.cancel()
        except MLPlatError as exc:
            self.message(exc.message)
