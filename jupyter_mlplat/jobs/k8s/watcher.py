"""Watch a namespace's job objects, pods and Events, and wake the backend for the job concerned.

One thread per watched resource. Each thread lists first (that is how it catches up after a
server restart or a gap), then watches from the list's resourceVersion, resuming from the last
version seen when a watch ends; a 410 Gone (the version was compacted away) means: list again.
Errors back off exponentially up to a bound; after too many in a row the thread stops and
:meth:`NamespaceWatcher.ensure` (called from the reconcile loop) starts it again. The reconcile
loop reads each active job directly too, so a watcher that is down delays updates, never loses
them.
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
    thread: threading.Thread | None = field(default=None, repr=False)
    current: watch.Watch | None = field(default=None, repr=False)


class NamespaceWatcher:
    def __init__(self, namespace: str, streams: list[Stream], *, timeout: int = 30,
                 max_failures: int = 8, backoff: float = 0.5, max_backoff: float = 15.0) -> None:
        self.namespace = namespace
        self.streams = streams
        self.timeout = timeout
        self.max_failures = max_failures
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Start (or restart after giving up) every stream's thread."""
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
        stream.on_list(list(listed.get("items") or []))

    def _watch(self, stream: Stream) -> None:
        w = watch.Watch()
        stream.current = w
        kwargs: dict[str, Any] = {"resource_version": stream.resource_version,
                                  "timeout_seconds": self.timeout,
                                  "allow_watch_bookmarks": True, "deserialize": False,
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
                delay = self.backoff
                continue
            except ApiException as exc:
                if exc.status == 410:  # compacted away: list again, from now
                    stream.resource_version = None
                    continue
                error: Exception = exc
            except Exception as exc:  # connection reset, apiserver restarting, a bad callback
                error = exc
            stream.failures += 1
            if stream.failures >= self.max_failures:
                log.warning("mlplat: watching %s in %s failed %d times (%s); the reconcile loop "
                            "restarts it", stream.name, self.namespace, stream.failures, error)
                return
            log.info("mlplat: watching %s in %s: %s; retrying in %.1fs", stream.name,
                     self.namespace, error, delay)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.max_backoff)
