"""Cluster jobs' logs followed as the API server streams them, while someone listens.

A client that shows a cluster job's log (the job detail, ``mlp jobs logs --follow``, the
``%mlp_submit`` monitor) reads it through the REST API; that read, repeated every
:data:`LEASE` / 3 seconds while the client listens, keeps a *follower* of the job for
:data:`LEASE` seconds. A follower holds one ``pods/log?follow=true`` stream of the job's head
replica open and pushes each piece of text through the job feed as it arrives (``kind: log``,
with the same byte offsets the REST API counts from the log's start). While its stream is up,
REST reads of the log are answered from the text it received: nobody polls the API server.

There is one follower per job however many clients listen; it ends when its lease runs out
(nobody listens), when the container ends (the stream ends and the pod has finished), or with
the server. A stream that drops while the container still runs is opened again and the bytes
already pushed are skipped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubernetes.client.exceptions import ApiException

from ..schemas import LogChunk
from . import manifests as mf
from .states import pod_replica

if TYPE_CHECKING:
    from ..backends.kubernetes import KubernetesBackend
    from ..schemas import Job
    from ..store import JobStore

log = logging.getLogger(__name__)

#: Seconds a follower runs after the last read of the log.
LEASE = 30.0
#: Seconds between tries while the job has no pod yet or its container has not started.
RETRY = 0.5
#: Bytes a follower keeps to answer REST reads; past it, reads go to the API server again.
MAX_KEPT = 16 * 1024 * 1024
#: Bytes read from the stream at most at once (a chunk is passed on as soon as it arrives).
READ_SIZE = 64 * 1024

Push = Callable[[dict[str, Any]], None]


class Follower:
    """The stream of one job's log, pushed as it comes."""

    def __init__(self, backend: KubernetesBackend, job_id: str, push: Push,
                 ended: Callable[[Follower], None]) -> None:
        self.backend = backend
        self.job_id = job_id
        self._push = push
        self._ended = ended
        self.expires = time.monotonic() + LEASE
        self.total = 0  # bytes received since the log's start
        self.sent = 0  # bytes pushed (text is pushed whole characters at a time)
        self.pending = b""  # received, not pushed yet (part of a character)
        self.data = bytearray()  # what was received, kept up to MAX_KEPT to answer reads
        self.streaming = False
        self.kept = True
        self._stop = threading.Event()
        self._resp: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"mlplat-k8s-log-{job_id}")

    def start(self) -> Follower:
        self._thread.start()
        return self

    def renew(self) -> None:
        self.expires = time.monotonic() + LEASE

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.expires

    def stop(self) -> None:
        self._stop.set()
        resp = self._resp
        if resp is not None:  # wakes the thread blocked reading the stream
            with contextlib.suppress(Exception):
                resp.shutdown()

    def chunk(self, offset: int, limit: int) -> LogChunk | None:
        """The log from ``offset`` as received, while the stream is up (else None)."""
        if not (self.streaming and self.kept):
            return None
        from ..backends.kubernetes import decode_from

        text, new_offset = decode_from(bytes(self.data[:self.sent]), offset, limit)
        return LogChunk(text=text, offset=new_offset, complete=False)

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self.expired:
                source = self._source()
                if source is None:
                    self._stop.wait(RETRY)  # no pod yet (or no job any more: see _source)
                    continue
                namespace, pod, container = source
                if not self._follow(namespace, pod, container):
                    self._stop.wait(RETRY)  # not started yet, or the stream dropped
                    continue
                if self._finished(namespace, pod):
                    return
        except Exception as exc:  # never take the server down; readers fall back to REST
            log.info("mlplat: following the log of job %s stopped: %s", self.job_id, exc)
        finally:
            self.streaming = False
            self._ended(self)

    def _source(self) -> tuple[str, str, str] | None:
        store = self.backend.ctx.store
        if store.get(self.job_id).state.final:
            self._stop.set()  # its whole log is read through the REST API
            return None
        ref = store.backend_ref(self.job_id)
        replicas = list(ref.get("replicas") or [])
        if "name" not in ref or not replicas:
            return None
        pods = sorted((p for p in self.backend.pods(ref, self.job_id)
                       if pod_replica(p) == replicas[0]),
                      key=lambda p: str(p["metadata"].get("creationTimestamp", "")))
        if not pods:
            return None
        container = next((info.container for info in mf.KINDS.values()
                          if info.kind == ref["kind"]), "main")
        return ref["namespace"], pods[-1]["metadata"]["name"], container

    def _follow(self, namespace: str, pod: str, container: str) -> bool:
        """Push the stream until it ends; False when it could not be opened."""
        core = self.backend.api.core
        try:
            resp: Any = core.read_namespaced_pod_log(pod, namespace, container=container,
                                                     follow=True, _preload_content=False)
        except ApiException as exc:
            if exc.status in (400, 404):  # the container has not started yet / pod gone
                return False
            raise
        self._resp = resp
        self.streaming = True
        received = 0  # bytes of this stream (a reopened one starts at the log's start again)
        try:
            for piece in resp.stream(READ_SIZE, decode_content=False):
                if self._stop.is_set():
                    break
                start = received
                received += len(piece)
                if received <= self.total:
                    continue  # already pushed before the stream was opened again
                piece = piece[max(0, self.total - start):]
                self.total += len(piece)
                if self.kept and self.total > MAX_KEPT:
                    self.kept, self.data = False, bytearray()
                elif self.kept:
                    self.data += piece
                self.pending += piece
                self._send()
                if self.expired:
                    break
        finally:
            self._resp = None
            with contextlib.suppress(Exception):
                resp.release_conn()
        return True

    def _send(self) -> None:
        """Push the whole characters received and not pushed yet."""
        pending = self.pending
        for cut in range(0, 4):
            try:
                text = pending[:len(pending) - cut].decode("utf-8")
                break
            except UnicodeDecodeError:
                continue
        else:
            text, cut = pending.decode("utf-8", errors="replace"), 0
        if not text:
            return
        end = self.sent + len(pending) - cut
        self._push({"kind": "log", "job_id": self.job_id, "offset": self.sent,
                    "next_offset": end, "text": text})
        self.sent = end
        self.pending = pending[len(pending) - cut:]

    def _finished(self, namespace: str, pod: str) -> bool:
        """After the stream ended: whether the container ended (else it dropped)."""
        try:
            found: Any = self.backend.api.core.read_namespaced_pod(pod, namespace,
                                                                   _preload_content=False)
        except ApiException as exc:
            return exc.status == 404
        phase = (json.loads(found.data or b"{}").get("status") or {}).get("phase")
        return phase in ("Succeeded", "Failed")


class LogFollowers:
    """The followers of one server's job feed (``push`` is the feed's)."""

    def __init__(self, push: Push) -> None:
        self._push = push
        self._followers: dict[str, Follower] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._reaper: threading.Thread | None = None

    def listen(self, backend: KubernetesBackend, job: Job) -> None:
        """Someone reads ``job``'s log: follow it (another :data:`LEASE` seconds)."""
        if job.state.final:
            return
        with self._lock:
            if self._closed:
                return
            follower = self._followers.get(job.id)
            if follower is not None:
                follower.renew()
                return
            self._followers[job.id] = Follower(backend, job.id, self._push, self._ended).start()
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, daemon=True,
                                                name="mlplat-k8s-log-leases")
                self._reaper.start()

    def chunk(self, job_id: str, offset: int, limit: int) -> LogChunk | None:
        follower = self._followers.get(job_id)
        return None if follower is None else follower.chunk(offset, limit)

    def following(self) -> list[str]:
        with self._lock:
            return sorted(self._followers)

    def _ended(self, follower: Follower) -> None:
        with self._lock:
            if self._followers.get(follower.job_id) is follower:
                del self._followers[follower.job_id]

    def _reap(self) -> None:
        """End the followers nobody renewed (one blocked on a silent stream too)."""
        while not self._closed:
            time.sleep(1.0)
            with self._lock:
                expired = [f for f in self._followers.values() if f.expired]
            for follower in expired:
                follower.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            followers = list(self._followers.values())
        for follower in followers:
            follower.stop()


_by_store: weakref.WeakKeyDictionary[JobStore, LogFollowers] = weakref.WeakKeyDictionary()


def attach(store: JobStore, push: Push) -> LogFollowers:
    """The followers of the server whose job feed reads ``store`` (one per store)."""
    old = _by_store.get(store)
    if old is not None:
        old.close()
    followers = _by_store[store] = LogFollowers(push)
    return followers


def attached(store: JobStore) -> LogFollowers | None:
    """The followers attached to ``store``, if a job feed pushes its changes."""
    return _by_store.get(store)
