"""Job changes pushed through Jupyter's event bus, read from a live server's events websocket.

A job's states, its log text and its output notebook's saves arrive as events of the
``jupyter_mlplat/job`` schema as they happen, numbered without gaps; a heartbeat says the feed
is alive while nothing changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from pathlib import Path
from typing import Any

import requests
from tornado.websocket import websocket_connect

from jupyter_mlplat.jobs.feed import SCHEMA_ID
from tests.helpers import write_notebook
from tests.live_server import LiveServer, live_server


async def collect(srv: LiveServer, until: Any, timeout: float = 120,
                  linger: float = 0.0) -> list[dict[str, Any]]:
    """Events of our schema, each with the time it arrived, until ``until(event)`` (and
    ``linger`` seconds more)."""
    ws_url = srv.url.replace("http://", "ws://") + f"/api/events/subscribe?token={srv.token}"
    conn = await websocket_connect(ws_url)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
            assert raw is not None, "the events socket closed"
            event = json.loads(raw)
            if event.get("__schema__", event.get("schema_id")) != SCHEMA_ID:
                continue
            event["arrived"] = time.time()
            seen.append(event)
            if until(event):
                end = time.monotonic() + linger
                while (left := end - time.monotonic()) > 0:
                    try:
                        raw = await asyncio.wait_for(conn.read_message(), left)
                    except asyncio.TimeoutError:
                        break
                    if raw is not None and json.loads(raw).get("schema_id") == SCHEMA_ID:
                        seen.append({**json.loads(raw), "arrived": time.time()})
                return seen
    finally:
        conn.close()
    raise AssertionError(f"timed out; seen {seen}")


def submit_soon(srv: LiveServer, body: dict[str, Any], out: dict[str, Any]) -> None:
    async def later() -> None:
        await asyncio.sleep(0.5)  # the socket is subscribed by then
        resp = await asyncio.get_running_loop().run_in_executor(None, lambda: requests.post(
            f"{srv.url}/jupyter-mlplat/api/jobs", headers=srv.headers, json=body, timeout=60))
        assert resp.status_code == 201, resp.text
        out.update(resp.json())
    out["task"] = asyncio.ensure_future(later())


def test_states_log_and_outputs_of_a_job_arrive_as_they_happen(tmp_path: Path) -> None:
    with live_server(tmp_path) as srv:
        write_notebook(srv.root / "ev.ipynb", "n = 1",
                       "print('hello from', n, flush=True)", "import time\ntime.sleep(1)",
                       "print('bye')")
        job: dict[str, Any] = {}

        async def run() -> list[dict[str, Any]]:
            submit_soon(srv, {"notebook": "ev.ipynb", "parameters": {"n": 5}}, job)
            return await collect(srv, lambda e: e.get("job_id") == job.get("id")
                                 and e.get("event_state") == "succeeded", linger=1.0)

        events = asyncio.run(run())
        mine = [e for e in events if e.get("job_id") == job["id"]]
        states = [e["event_state"] for e in mine if e["kind"] == "state"]
        assert states == ["queued", "running", "succeeded"], mine
        log = "".join(e["text"] for e in mine if e["kind"] == "log")
        assert "hello from 5" in log and "bye" in log, mine
        offsets = [(e["offset"], e["next_offset"]) for e in mine if e["kind"] == "log"]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(offsets)), offsets
        assert any(e["kind"] == "outputs" and e["notebook"] == job["outputs"]["notebook"]
                   for e in mine), mine
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
        assert len({e["server"] for e in events}) == 1
        # pushed within a moment of being recorded (the feed reads every 50 ms)
        lags = [e["arrived"] - dt.datetime.fromisoformat(e["time"]).timestamp()
                for e in mine if e["kind"] == "state"]
        assert max(lags) < 1.0, lags


def test_a_heartbeat_says_the_feed_is_alive(tmp_path: Path) -> None:
    with live_server(tmp_path, "--MLPlatApp.heartbeat_interval=0.5") as srv:
        events = asyncio.run(collect(srv, lambda e: e["kind"] == "heartbeat", timeout=30))
        assert events[-1]["kind"] == "heartbeat"
