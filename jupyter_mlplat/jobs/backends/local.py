"""The embedded compute target: each job is a detached runner process on this machine.

The runner records its own states in the database, so a job keeps running and reporting when
the Jupyter server restarts; ``reconcile`` marks a job failed when its runner vanished.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

from ...config import LocalTarget
from ...errors import InvalidRequest
from ..logfile import read_from
from ..schemas import Job, JobSpec, JobState, LogChunk
from .base import ComputeBackend
from .pool import RunnerProcess, WarmPool

CREATE_TIME_SLACK = 1.0
#: Seconds after which a queued job whose runner was never started counts as lost.
STALE_SUBMIT_SECONDS = 60.0
#: The event of a job handed to a warm runner.
WARM_EVENT = "taken by a warm runner (started ahead of the job: papermill imported, a kernel " \
             "started)"


class LocalBackend(ComputeBackend[LocalTarget]):
    """Runs at most ``max_parallel`` of this workbench's jobs at once; the others wait queued
    (first submitted, first started) and the reconcile loop starts them as runners end."""

    target_type = LocalTarget

    _children: dict[str, RunnerProcess] = {}
    _slots = threading.Lock()  # two submits must not both take the last free slot
    pool: WarmPool | None = None

    def warm(self) -> WarmPool | None:
        """Start the pool of warm runners (a long-lived server does; one-shot commands such as
        ``mlp jobs submit`` start their jobs cold and leave nothing behind)."""
        if self.pool is None and self.target.warm_runners > 0:
            self.pool = WarmPool(
                self.target.warm_runners, self.ctx.config.runtime_for(None).kernel,
                env=self.ctx.child_env, cwd=self.ctx.root_dir,
                log_dir=self.ctx.config.resolved_data_dir() / "warm-runners")
            self.pool.fill()
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def validate(self, spec: JobSpec) -> None:
        """One process on this machine: distributed kinds need a cluster's training operator."""
        if spec.kind != "job" or spec.workers:
            raise InvalidRequest(
                f"target {self.target.name!r} runs a notebook as one process on this machine, "
                f"so kind {spec.kind!r}" + (f" with {spec.workers} workers" if spec.workers
                                            else "")
                + " needs a Kubernetes target; submit it as kind 'job' with no workers here, "
                "or choose a Kubernetes target", reason="invalid")

    def submit(self, job: Job) -> None:
        job.outputs.tensorboard = self.ctx.tensorboard_dir(job)
        self.ctx.store.update(job.id, outputs=job.outputs.model_dump())
        with self._slots:
            busy = self._running()
            if busy >= self.target.max_parallel:
                self.ctx.store.merge_backend_ref(job.id, waiting=True)
                self.ctx.store.add_event(
                    job.id, f"waiting for a free slot: {busy} of at most "
                            f"{self.target.max_parallel} local jobs are running")
                return
            self._start(job)

    def _mine(self) -> list[Job]:
        user = self.ctx.config.user
        return [j for j in self.ctx.store.active()
                if j.spec.target == self.target.name and j.user == user]

    def _running(self) -> int:
        """This workbench's jobs on this target that have a runner (started or starting)."""
        return sum(1 for j in self._mine()
                   if j.state is not JobState.queued or "pid" in self.ctx.store.backend_ref(j.id))

    def _start_waiting(self) -> None:
        """Start the oldest waiting jobs into the slots that are free now."""
        with self._slots:
            mine = self._mine()
            waiting = sorted((j for j in mine if j.state is JobState.queued
                              and self.ctx.store.backend_ref(j.id).get("waiting")),
                             key=lambda j: j.created)
            free = self.target.max_parallel - self._running()
            for job in waiting[:max(0, free)]:
                self.ctx.store.merge_backend_ref(job.id, waiting=False)
                self._start(job)

    def _start(self, job: Job) -> None:
        job_dir = self.ctx.job_dir(job.id)
        kernel = self.ctx.config.runtime_for(job.spec.runtime).kernel
        runner = None if self.pool is None else self.pool.take(kernel)
        if runner is not None and runner.proc.poll() is None:
            # Recorded before the runner has the job, so that its own first write (``running``)
            # never waits for these on the database's write lock.
            self._started(job, runner.proc)
            self.ctx.store.add_event(job.id, WARM_EVENT)
            if runner.hand(job.id):
                return
            self.ctx.store.add_event(job.id, "the warm runner ended before it took the job; "
                                             "starting a runner for it")
        fd = os.open(job_dir / "runner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_mlplat.runner", "local", job.id],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self.ctx.child_env(job), cwd=str(self.ctx.root_dir), start_new_session=True,
            )
        self._started(job, proc)

    def _started(self, job: Job, proc: RunnerProcess) -> None:
        self._children[job.id] = proc
        # Reap the runner as soon as it exits: the server is the parent of a runner it started
        # and would otherwise keep it as a zombie until someone polled it.
        threading.Thread(target=proc.wait, name=f"reap-{job.id}", daemon=True).start()
        self.ctx.store.merge_backend_ref(job.id, pid=proc.pid,
                                         create_time=psutil.Process(proc.pid).create_time())

    def _process(self, job: Job, ref: dict[str, Any] | None = None) -> psutil.Process | None:
        """The job's runner if it is still the same process that was started for it (``ref``:
        the job's backend reference as the caller read it; read here if not given)."""
        child = self._children.get(job.id)
        if child is not None and child.poll() is not None:
            self._children.pop(job.id, None)
            return None
        if ref is None:
            ref = self.ctx.store.backend_ref(job.id)
        pid = ref.get("pid")
        if pid is None:
            return None
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - float(ref.get("create_time", 0))) > CREATE_TIME_SLACK:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            return None
        return proc

    def cancel(self, job: Job) -> None:
        proc = self._process(job)
        if proc is None:
            return
        tree = [proc, *proc.children(recursive=True)]
        for p in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _gone, alive = psutil.wait_procs(tree, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=5)
        child = self._children.pop(job.id, None)
        if child is not None:
            child.wait(timeout=5)

    def logs(self, job: Job, offset: int = 0, replica: str | None = None) -> LogChunk:
        path = self.ctx.job_dir(job.id) / "job.log"
        text, new_offset = read_from(path, offset)
        size = path.stat().st_size if path.exists() else 0
        return LogChunk(text=text, offset=new_offset,
                        complete=job.state.final and new_offset >= size)

    def reconcile(self, job: Job) -> None:
        if job.state.final:
            return
        with self._slots:  # no runner of this server starts while its job is judged
            waiting = self._judge(job)
        if waiting and job.state is JobState.queued:
            self._start_waiting()

    def _judge(self, job: Job) -> bool:
        """Fail the job if its runner is lost; True if it waits for a free slot.

        The backend reference is read once and the process judged by what was read: a runner
        whose pid was recorded after the process was looked for is not taken for one that ended.
        """
        ref = self.ctx.store.backend_ref(job.id)
        if self._process(job, ref) is not None:
            return False
        if ref.get("waiting"):
            return True
        if "pid" not in ref:
            # submit is still starting the runner, unless the process submitting it died
            # between recording the job and starting its runner: then nothing will ever run it
            if time.time() - job.created.timestamp() > STALE_SUBMIT_SECONDS:
                self.ctx.store.transition(
                    job.id, JobState.failed, only_from={JobState.queued},
                    message="the job's runner was never started (the server stopped while "
                            "submitting it); submit it again",
                    error="runner never started")
            return False
        tail = ""
        runner_log = self.ctx.job_dir(job.id) / "runner.log"
        if runner_log.exists():
            tail = "\n".join(runner_log.read_text(errors="replace").splitlines()[-5:])
        self.ctx.store.transition(
            job.id, JobState.failed,
            message="the job's runner process ended without reporting a result",
            error="runner process ended without reporting a result" + (f": {tail}" if tail else ""),
        )
        return False
