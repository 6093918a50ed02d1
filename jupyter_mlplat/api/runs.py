"""Routes of parameterized runs and schedules (thin: parse, call the service, serialize)."""

from __future__ import annotations

from tornado import web

from ..runs.schemas import RunRequest, RunRerunRequest, ScheduleRequest, ScheduleUpdate
from .base import MLPlatHandler


class RunsHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        page = await self.call(
            self.platform.runs.page,
            notebook=self.get_query_argument("notebook", None) or None,
            schedule_id=self.get_query_argument("schedule_id", None) or None,
            user=self.user_name,
            limit=self.int_arg("limit", 50, 1, 500), offset=self.int_arg("offset", 0, 0, 10**9),
        )
        self.send(page)

    @web.authenticated
    async def post(self) -> None:
        request = self.body_as(RunRequest)
        self.send(await self.call(self.platform.runs.create, request, self.user_name), 201)


class RunHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, run_id: str) -> None:
        self.send(await self.call(self.platform.runs.get, run_id, self.user_name))

    @web.authenticated
    async def delete(self, run_id: str) -> None:
        await self.call(self.platform.runs.delete, run_id, self.bool_arg("outputs"),
                        self.user_name)
        self.set_status(204)
        self.finish()


class RunDiffHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        a, b = self.get_query_argument("a", ""), self.get_query_argument("b", "")
        if not a or not b:
            raise web.HTTPError(400, "query arguments 'a' and 'b' (two run ids) are required",
                                reason="invalid")
        self.send(await self.call(self.platform.runs.diff, a, b, self.user_name))


class RunRerunHandler(MLPlatHandler):
    @web.authenticated
    async def post(self, run_id: str) -> None:
        body = self.body_as(RunRerunRequest)
        run = await self.call(self.platform.runs.rerun, run_id, body.parameters, self.user_name)
        self.send(run, 201)


class SchedulesHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        page = await self.call(
            self.platform.schedules.page,
            notebook=self.get_query_argument("notebook", None) or None, user=self.user_name,
            limit=self.int_arg("limit", 50, 1, 500), offset=self.int_arg("offset", 0, 0, 10**9),
        )
        self.send(page)

    @web.authenticated
    async def post(self) -> None:
        request = self.body_as(ScheduleRequest)
        self.send(await self.call(self.platform.schedules.create, request, self.user_name), 201)


class SchedulePreviewHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        cron = self.get_query_argument("cron", "")
        if not cron.strip():
            raise web.HTTPError(400, "cron: query argument 'cron' (a cron expression) is "
                                "required", reason="invalid cron")
        preview = await self.call(self.platform.schedules.preview, cron,
                                  self.get_query_argument("timezone", "UTC"),
                                  self.int_arg("count", 5, 1, 100))
        self.send(preview)


class ScheduleHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, schedule_id: str) -> None:
        self.send(await self.call(self.platform.schedules.get, schedule_id, self.user_name))

    @web.authenticated
    async def patch(self, schedule_id: str) -> None:
        change = self.body_as(ScheduleUpdate)
        self.send(await self.call(self.platform.schedules.update, schedule_id, change,
                                  self.user_name))

    @web.authenticated
    async def delete(self, schedule_id: str) -> None:
        await self.call(self.platform.schedules.delete, schedule_id, self.user_name,
                        runs=self.bool_arg("runs"), outputs=self.bool_arg("outputs"))
        self.set_status(204)
        self.finish()
