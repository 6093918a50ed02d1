"""Runs, models and TensorBoards pushed through Jupyter's event bus, read from a live server.

A publish, a stage change, a run's states (its own and its job's) and a TensorBoard's start and
stop each arrive as an event of the ``jupyter_mlplat/run``, ``model`` or ``tensorboard`` schema
while the REST calls that made them return, numbered per schema without gaps.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import requests
from tornado.websocket import websocket_connect

from jupyter_mlplat.changes import MODEL_SCHEMA_ID, RUN_SCHEMA_ID, TENSORBOARD_SCHEMA_ID
from tests.helpers import write_notebook
from tests.live_server import LiveServer, live_server

SCHEMAS = {MODEL_SCHEMA_ID, RUN_SCHEMA_ID, TENSORBOARD_SCHEMA_ID}


async def collect(srv: LiveServer, act: Any, until: Any,
                  timeout: float = 120) -> list[dict[str, Any]]:
    """Events of the three schemas, each with the time it arrived, from subscribing until
    ``until(events)``; ``act()`` (blocking REST calls) runs once the socket is subscribed."""
    ws_url = srv.url.replace("http://", "ws://") + f"/api/events/subscribe?token={srv.token}"
    conn = await websocket_connect(ws_url)
    seen: list[dict[str, Any]] = []
    done = asyncio.get_running_loop().run_in_executor(None, act)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(conn.read_message(), 1.0)
            except asyncio.TimeoutError:
                raw = ""
            else:
                assert raw is not None, "the events socket closed"
            if raw:
                event = json.loads(raw)
                if event.get("__schema__", event.get("schema_id")) in SCHEMAS:
                    seen.append({**event, "arrived": time.time()})
            if done.done() and until(seen):
                done.result()  # its assertions
                return seen
    finally:
        conn.close()
    raise AssertionError(f"timed out; seen {seen}")


def of(events: list[dict[str, Any]], schema_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("__schema__", e.get("schema_id")) == schema_id]


def no_gaps(events: list[dict[str, Any]]) -> None:
    for schema_id in SCHEMAS:
        seqs = [e["seq"] for e in of(events, schema_id)]
        assert seqs == list(range(1, len(seqs) + 1)), (schema_id, seqs)
        assert len({e["server"] for e in of(events, schema_id)}) <= 1


def test_publishes_runs_and_tensorboards_arrive_as_they_happen(tmp_path: Path) -> None:
    with live_server(tmp_path) as srv:
        api = f"{srv.url}/jupyter-mlplat/api"
        (srv.root / "out" / "model").mkdir(parents=True)
        (srv.root / "out" / "model" / "weights.bin").write_bytes(b"w" * 100)
        (srv.root / "tb").mkdir()
        write_notebook(srv.root / "ev.ipynb", "n = 1", "print(n)")
        made: dict[str, Any] = {}

        def act() -> None:
            time.sleep(0.5)  # the socket is subscribed by then
            made["publish_at"] = time.time()
            resp = requests.post(f"{api}/models", headers=srv.headers, timeout=60,
                                 json={"path": "out/model", "name": "pushed"})
            assert resp.status_code == 201, resp.text
            resp = requests.post(f"{api}/models/pushed/versions/1/stage", headers=srv.headers,
                                 json={"stage": "staging"}, timeout=60)
            assert resp.status_code == 200, resp.text
            resp = requests.post(f"{api}/runs", headers=srv.headers, timeout=60,
                                 json={"notebook": "ev.ipynb", "parameters": {"n": 2}})
            assert resp.status_code == 201, resp.text
            made["run"] = resp.json()
            resp = requests.post(f"{api}/tensorboards", headers=srv.headers, timeout=60,
                                 json={"logdir": "tb"})
            assert resp.status_code == 201, resp.text
            made["tb"] = resp.json()

        def run_done(events: list[dict[str, Any]]) -> bool:
            return any(e.get("run_id") == made["run"]["id"] and e.get("state") == "succeeded"
                       for e in of(events, RUN_SCHEMA_ID))

        def tb_up(events: list[dict[str, Any]]) -> bool:
            return any(e.get("kind") == "state" and e.get("state") in ("running", "failed")
                       for e in of(events, TENSORBOARD_SCHEMA_ID))

        events = asyncio.run(collect(srv, act, lambda ev: run_done(ev) and tb_up(ev)))

        models = of(events, MODEL_SCHEMA_ID)
        assert [(e["kind"], e["model"], e["version"], e["stage"]) for e in models] == [
            ("published", "pushed", 1, "none"), ("stage", "pushed", 1, "staging")]
        assert models[0]["arrived"] - made["publish_at"] < 5.0

        run_id, job_id = made["run"]["id"], made["run"]["job_id"]
        runs = [e for e in of(events, RUN_SCHEMA_ID) if e["run_id"] == run_id]
        assert runs[0]["kind"] == "created"
        assert {e["state"] for e in runs} >= {"queued", "succeeded"} or \
            {e["state"] for e in runs} >= {"claimed", "succeeded"}, runs
        assert runs[-1]["state"] == "succeeded" and runs[-1]["job_id"] == job_id

        tb_id = made["tb"]["id"]
        boards = of(events, TENSORBOARD_SCHEMA_ID)
        assert [(e["kind"], e["tensorboard_id"]) for e in boards][:1] == [("started", tb_id)]
        assert boards[-1]["state"] == "running", boards

        def stop_and_delete() -> None:
            time.sleep(0.5)
            resp = requests.delete(f"{api}/tensorboards/{tb_id}", headers=srv.headers,
                                   timeout=60)
            assert resp.status_code == 204, resp.text
            resp = requests.delete(f"{api}/runs/{run_id}", headers=srv.headers, timeout=60)
            assert resp.status_code == 204, resp.text

        more = asyncio.run(collect(
            srv, stop_and_delete,
            lambda ev: any(e.get("kind") == "deleted" for e in of(ev, RUN_SCHEMA_ID))
            and any(e.get("kind") == "stopped" for e in of(ev, TENSORBOARD_SCHEMA_ID))))
        assert [(e["kind"], e["tensorboard_id"], e["state"])
                for e in of(more, TENSORBOARD_SCHEMA_ID)] == [("stopped", tb_id, "stopped")]
        assert {(e["kind"], e["run_id"]) for e in of(more, RUN_SCHEMA_ID)} == {
            ("deleted", run_id)}
        no_gaps(events + more)
