"""Job changes pushed by the Jupyter server, for ``mlp jobs … --follow`` and ``%mlp_submit``.

A kernel or a terminal of the server finds it as the TensorBoard client does (its URL in
``MLPLAT_SERVER_URL``, its token in the server's runtime file), subscribes to Jupyter's events
websocket and wakes the follower of a job whenever a change of that job arrives (a state, an
event, log text, an output notebook's save). The follower then reads the job and its new log
text as before. Without a server, or while the socket is down (it reconnects), the follower
polls at its own interval; while connected it still reads every ``CONNECTED_TIMEOUT`` seconds.
While connected it also reads the job's log through the server every ``LISTEN_EVERY`` seconds:
that says someone listens, so the server follows a cluster job's log stream and pushes its
lines as they come (``jobs.k8s.logs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import Callable
from typing import Any

from ..jobs.schemas import EVENTS_SCHEMA_ID

#: Seconds between reads while the socket is connected (a net under the pushed changes).
CONNECTED_TIMEOUT = 5.0
#: Seconds before reconnecting after the socket closed.
RECONNECT_AFTER = 1.0
#: Seconds between the reads that keep the server following the job's log (its lease: 30 s).
LISTEN_EVERY = 10.0


class JobWaker:
    """``wait(timeout)`` returns as soon as a change of ``job_id`` is pushed (True), or after
    ``timeout`` (False; while connected, after ``CONNECTED_TIMEOUT``)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.connected = False
        self._changed = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop: Callable[[], object] | None = None

    def start(self) -> JobWaker:
        """Subscribe in a thread when a server is known; else stay a plain timer."""
        try:
            from ..tensorboard.client import find_server

            url, token = find_server()
        except Exception:
            return self
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True,
                                        name=f"mlplat-pushed-{self.job_id}")
        self._thread.start()
        return self

    def wait(self, timeout: float) -> bool:
        fired = self._changed.wait(max(timeout, CONNECTED_TIMEOUT) if self.connected
                                   else timeout)
        self._changed.clear()
        return fired

    def close(self) -> None:
        self._closed.set()
        self._changed.set()
        if self._stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended
                self._stop()

    # -- the subscription ------------------------------------------------------------------
    def _run(self, url: str, token: str) -> None:
        with contextlib.suppress(Exception):
            asyncio.run(self._subscribe(url, token))
        self.connected = False

    async def _subscribe(self, url: str, token: str) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        request = HTTPRequest(f"{ws_url}api/events/subscribe",
                              headers={"Authorization": f"token {token}"} if token else {})
        while not self._closed.is_set():
            try:
                conn = await websocket_connect(request)
            except Exception:
                await asyncio.sleep(RECONNECT_AFTER)
                continue
            self._stop = functools.partial(asyncio.get_running_loop().call_soon_threadsafe,
                                           conn.close)
            self.connected = True
            self._changed.set()  # read once now: changes before the subscription were missed
            listening = asyncio.ensure_future(self._listen(url, token))
            try:
                while not self._closed.is_set():
                    raw = await conn.read_message()
                    if raw is None:
                        break
                    if self._concerns(raw):
                        self._changed.set()
            finally:
                listening.cancel()
                self.connected = False
                conn.close()
            if not self._closed.is_set():
                await asyncio.sleep(RECONNECT_AFTER)

    async def _listen(self, url: str, token: str) -> None:
        """Tell the server, by reading the job's log, that its changes are listened to."""
        from tornado.httpclient import AsyncHTTPClient

        client = AsyncHTTPClient()
        headers = {"Authorization": f"token {token}"} if token else {}
        while not self._closed.is_set():
            with contextlib.suppress(Exception):  # the socket's end says more
                await client.fetch(f"{url}jupyter-mlplat/api/jobs/{self.job_id}/logs"
                                   f"?offset={2**62}", headers=headers, request_timeout=30)
            await asyncio.sleep(LISTEN_EVERY)

    def _concerns(self, raw: str | bytes) -> bool:
        try:
            event: dict[str, Any] = json.loads(raw)
        except ValueError:
            return False
        return bool(event.get("schema_id") == EVENTS_SCHEMA_ID
                    and event.get("job_id") == self.job_id)
