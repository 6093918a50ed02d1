"""Routes of the jobs API and the notebook-parameters look-up."""

from __future__ import annotations

from tornado import web

from ..jobs.backends.kubernetes import KubernetesBackend
from ..jobs.k8s.logs import attached
from ..jobs.logfile import MAX_CHUNK
from ..jobs.schemas import JobSpec, JobState, LogChunk, RerunRequest
from .base import MLPlatHandler

STATES = {s.value for s in JobState}


class JobsHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        states = [s for arg in self.get_query_arguments("state") for s in arg.split(",") if s]
        bad = sorted(set(states) - STATES)
        if bad:
            raise web.HTTPError(400, f"unknown state {', '.join(bad)}; valid: "
                                f"{', '.join(sorted(STATES))}", reason="invalid")
        user = self.get_query_argument("user", None) or self.user_name
        if user != self.user_name:  # one database may serve many workbenches
            raise web.HTTPError(403, f"you may list only your own jobs ({self.user_name})",
                                reason="forbidden")
        page = await self.call(
            self.platform.jobs.page, state=states or None, user=user,
            notebook=self.get_query_argument("notebook", None) or None,
            target=self.get_query_argument("target", None) or None,
            limit=self.int_arg("limit", 50, 1, 500), offset=self.int_arg("offset", 0, 0, 10**9),
            cursor=self.get_query_argument("cursor", None) or None,
        )
        self.send(page)

    @web.authenticated
    async def post(self) -> None:
        spec = self.body_as(JobSpec)
        job = await self.call(self.platform.jobs.submit, spec, self.user_name)
        self.send(job, 201)


class JobHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, job_id: str) -> None:
        self.send(await self.call(self.platform.jobs.get, job_id, self.user_name))

    @web.authenticated
    async def delete(self, job_id: str) -> None:
        await self.call(self.platform.jobs.delete, job_id, self.bool_arg("outputs"),
                        self.user_name)
        self.set_status(204)
        self.finish()


class JobLogsHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, job_id: str) -> None:
        chunk = await self.call(
            self._read, job_id, self.int_arg("offset", 0, 0, 2**62),
            self.get_query_argument("replica", None) or None, self.user_name,
        )
        self.send(chunk)

    def _read(self, job_id: str, offset: int, replica: str | None, user: str) -> LogChunk:
        """A cluster job's log read by someone who listens: its follower pushes the rest as
        it comes (``jobs.k8s.logs``) and, while its stream is up, answers from what it got."""
        jobs = self.platform.jobs
        followers = attached(jobs.store)
        if followers is not None and replica is None:
            job = jobs.get(job_id, user)
            backend = jobs.backend(job.spec.target)
            if isinstance(backend, KubernetesBackend):
                followers.listen(backend, job)
                chunk = followers.chunk(job.id, offset, MAX_CHUNK)
                if chunk is not None:
                    return chunk
        return jobs.logs(job_id, offset, replica, user)


class JobCancelHandler(MLPlatHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        self.send(await self.call(self.platform.jobs.cancel, job_id, self.user_name))


class JobRerunHandler(MLPlatHandler):
    @web.authenticated
    async def post(self, job_id: str) -> None:
        body = self.body_as(RerunRequest)
        job = await self.call(self.platform.jobs.rerun, job_id, body.parameters, self.user_name)
        self.send(job, 201)


class ParametersHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        if not path:
            raise web.HTTPError(400, "query argument 'path' (a notebook path) is required",
                                reason="invalid")
        self.send(await self.call(self.platform.jobs.inspect, path))
