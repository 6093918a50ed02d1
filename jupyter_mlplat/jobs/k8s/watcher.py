"""Watch a namespace's job objects, pods and Events, and wake the backend for the job concerned.

One thread per watched resource. Each thread lists first (that is how it catches up after a
server restart or a gap), then watches from the list's resourceVersion, resuming from the last
version seen when a watch ends; a 410 Gone (the version was compacted away, or an API server
that restarted no longer holds it in its watch cache) means: list again. Errors (an API server
that is down or restarting) back off exponentially up to ``max_backoff`` and are retried for as
long as the watcher runs: an outage of any length ends in a relist or a resume, never in a
thread that gave up. :meth:`NamespaceWatcher.ensure` (called from the reconcile loop) restarts a
thread that died anyway. The reconcile loop reads each active job directly too, so a watcher
that is down delays updates, never loses them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

OnObject = Callable[[str, Mapping[str, Any]], None]
OnList = Callable[[list[Mapping[str, Any]]], None]


class RawWatch(watch.Watch):
    """Watch events as plain dicts, with ERROR events (410 Gone and others) raised.

    The client's ``deserialize=False`` option skips the models but then fails on an ERROR event
    with a ``KeyError('raw_object')`` instead of raising its ``ApiException``, so a 410 would
    never be recognised and the watch would be resumed from the expired version forever.
    Without a return type the client parses each line once and leaves the objects as dicts,
    which is what ``deserialize=False`` was for, and reports ERROR events properly.
    """

    def get_return_type(self, func: Callable[..., Any]) -> None:
        return None


@dataclass
class Stream:
    """One watched resource: its list function (namespace bound) and what to do with objects."""

    name: str
    list_fn: Callable[..., Any]
    on_object: OnObject
    on_list: OnList
    label_selector: str | None = None
    resource_version: str | None = None
    relists: int = 0
    failures: int = 0
    expired: int = 0  # 410 Gone answers, each followed by a relist
    thread: threading.Thread | None = field(default=None, repr=False)
    current: watch.Watch | None = field(default=None, repr=False)


class NamespaceWatcher:
    def __init__(self, namespace: str, streams: list[Stream], *, timeout: int = 30,
                 warn_after: int = 8, backoff: float = 0.5, max_backoff: float = 5.0) -> None:
        self.namespace = namespace
        self.streams = streams
        self.timeout = timeout
        self.warn_after = warn_after
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Start every stream's thread, and start again one that died."""
        with self._lock:
            if self._stop.is_set():
                return
            for stream in self.streams:
                if stream.thread is None or not stream.thread.is_alive():
                    stream.failures = 0
                    stream.thread = threading.Thread(
                        target=self._run, args=(stream,), daemon=True,
                        name=f"mlplat-watch-{self.namespace}-{stream.name}")
                    stream.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every stream; an open watch is cut by closing its response, not waited out."""
        self._stop.set()
        for stream in self.streams:
            if stream.current is not None:
                stream.current.stop()
                response = getattr(stream.current, "_resp", None)
                if response is not None:
                    with contextlib.suppress(Exception):
                        response.shutdown() if hasattr(response, "shutdown") else response.close()
        deadline = time.monotonic() + timeout
        for stream in self.streams:
            if stream.thread is not None:
                stream.thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def alive(self) -> bool:
        return all(s.thread is not None and s.thread.is_alive() for s in self.streams)

    # -- the loop ----------------------------------------------------------------------------
    def _list(self, stream: Stream) -> None:
        kwargs: dict[str, Any] = {"_preload_content": False}
        if stream.label_selector:
            kwargs["label_selector"] = stream.label_selector
        listed = json.loads(stream.list_fn(**kwargs).data)
        stream.resource_version = listed["metadata"]["resourceVersion"]
        stream.relists += 1
        stream.failures = 0
        stream.on_list(list(listed.get("items") or []))

    def _watch(self, stream: Stream) -> None:
        w = RawWatch()
        stream.current = w
        kwargs: dict[str, Any] = {"resource_version": stream.resource_version,
                                  "timeout_seconds": self.timeout,
                                  "allow_watch_bookmarks": True,
                                  "_request_timeout": self.timeout + 15}
        if stream.label_selector:
            kwargs["label_selector"] = stream.label_selector
        for event in w.stream(stream.list_fn, **kwargs):
            if self._stop.is_set():
                break
            obj = event.get("object") or {}
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                stream.resource_version = version
            if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                stream.on_object(event["type"], obj)
            stream.failures = 0

    def _run(self, stream: Stream) -> None:
        delay = self.backoff
        while not self._stop.is_set():
            try:
                if stream.resource_version is None:
                    self._list(stream)
                self._watch(stream)
                stream.failures, delay = 0, self.backoff
                continue
            except ApiException as exc:
                if exc.status == 410:  # expired: list again, from now
                    log.info("mlplat: watching %s in %s: version %s expired (%s); listing again",
                             stream.name, self.namespace, stream.resource_version, exc.reason)
                    stream.resource_version = None
                    stream.expired += 1
                    continue
                error: Exception = exc
            except Exception as exc:  # connection reset, apiserver restarting, a bad callback
                error = exc
            stream.failures += 1
            level = logging.WARNING if stream.failures == self.warn_after else logging.INFO
            log.log(level, "mlplat: watching %s in %s failed %d times in a row (%s); retrying "
                    "in %.1fs", stream.name, self.namespace, stream.failures, error, delay)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.max_backoff)
