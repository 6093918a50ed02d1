"""The sandbox: start the chosen components, remember them in ``state.json``, stop them.

Each component module provides one :class:`~.base.Component` subclass and a
``platform_config(info) -> dict`` fragment; the sandbox merges those fragments into the config
file that makes ``jupyter lab`` (and the ``mlp`` CLI) use the sandbox.

``up`` returns with the engines still running (they live in their own process groups), so
``down`` usually runs in another process: everything it needs to stop them cleanly — process
ids, the signal a component wants first, folders outside the workdir — is in ``state.json``.
A component module may also export ``release(info)`` (run before its processes are signalled,
e.g. to stop the containers a node runs) and ``cleanup(info)`` (after, e.g. mounts and network
interfaces); a component class may name the components it ``requires``, whose info it is
given (``use``) before it starts, and those it ``wants`` (used when they run: the node's
kubelet hands pods the cluster DNS when the ``dns`` component was started before it).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..errors import MissingExtra
from .base import Component, ComponentError, cache_dir, stop_process_group

#: component name -> "module:Class"; each module also exports ``platform_config(info)``.
COMPONENTS: dict[str, str] = {
    "hdfs": "jupyter_mlplat.devcluster.hdfs:HdfsClusters",
    "kube": "jupyter_mlplat.devcluster.kube:Kubernetes",
    "dns": "jupyter_mlplat.devcluster.dns:ClusterDns",
    "registry": "jupyter_mlplat.devcluster.registry:Registries",
    "operator": "jupyter_mlplat.devcluster.training_operator:TrainingOperator",
    "node": "jupyter_mlplat.devcluster.node:Node",
    "postgres": "jupyter_mlplat.devcluster.postgres:Postgres",
}

Progress = Callable[[str], Any]


#: Where the real node's jobs keep their outputs: the ``kube-node`` target's ``outputs``.
JOB_OUTPUTS = "hdfs://prod-b/user/{user}/mlplat-jobs/{job_id}"


def cluster_jobs_config(node: dict[str, Any], registry: dict[str, Any], hdfs: dict[str, Any],
                        outputs: str = JOB_OUTPUTS) -> dict[str, Any]:
    """The platform config for jobs on the real node with their outputs on HDFS, from the
    ``info()`` of the running node, registry and HDFS clusters.

    The ``kube-node`` target (its ``pod_template``, node selector and toleration) with
    ``outputs``; the registry to build in and the runtime image to build from; the sandbox user
    (whose namespace the target's kubeconfig may use); and the HDFS clusters as storage:
    ``prod-a`` (permissions on) reached by the superuser acting as the user (``proxy_user``),
    ``prod-b`` as the superuser.
    """
    from . import node as devnode
    from . import registry as devregistry

    clusters = hdfs["clusters"]
    target = {**devnode.platform_config(node)["targets"][0], "outputs": outputs}
    storage = [
        {"name": "prod-a", "kind": "webhdfs", "namenodes": list(clusters["prod-a"]["webhdfs"]),
         "user": clusters["prod-a"]["superuser"], "proxy_user": True},
        {"name": "prod-b", "kind": "webhdfs", "namenodes": list(clusters["prod-b"]["webhdfs"]),
         "user": clusters["prod-b"]["superuser"]},
    ]
    return {"user": node["user"], "targets": [target], "storage": storage,
            **devregistry.platform_config(registry)}


def component_class(name: str) -> type[Component]:
    try:
        module_name, cls_name = COMPONENTS[name].split(":")
    except KeyError:
        raise ComponentError(
            f"unknown component {name!r}; valid: {', '.join(COMPONENTS)}"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except (ImportError, MissingExtra) as exc:
        raise ComponentError(f"component {name!r} is not available: {exc}") from exc
    cls: type[Component] = getattr(module, cls_name)
    return cls


def default_workdir() -> Path:
    return cache_dir("sandbox")


class Sandbox:
    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = workdir or default_workdir()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.workdir / "state.json"
        self.components: dict[str, Component] = {}

    def read_state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {}
        state: dict[str, Any] = json.loads(self.state_path.read_text())
        return state

    def build(self, names: list[str], progress: Progress = print) -> dict[str, float]:
        """Build (fetch/compile into the cache) without starting: what CI runs ahead of tests."""
        seconds: dict[str, float] = {}
        for name in names:
            comp = component_class(name)(self.workdir)
            t0 = time.monotonic()
            progress(f"{name}: building…")
            comp.build()
            seconds[name] = round(time.monotonic() - t0, 1)
            progress(f"{name}: built in {seconds[name]:.1f}s")
        return seconds

    def up(self, names: list[str], progress: Progress = print) -> dict[str, Any]:
        if self._running():
            raise ComponentError(
                f"a sandbox is already running in {self.workdir}; run `mlp devcluster down` first"
            )
        self.down()  # a stale state (its processes are gone, e.g. after a reboot): clean it up
        state: dict[str, Any] = {"started": time.time(), "components": {}}
        try:
            for name in names:
                state["components"][name] = self._up_one(name, progress, state["components"])
                self._write(state)
        except BaseException:
            self.stop_all()
            self.state_path.unlink(missing_ok=True)
            raise
        state["config_file"] = str(self.write_platform_config(state))
        self._write(state)
        return state

    def _up_one(self, name: str, progress: Progress,
                started: dict[str, Any]) -> dict[str, Any]:
        """Build and start one component; it is tracked before ``start`` so a failure stops it."""
        comp = component_class(name)(self.workdir)
        required = comp.requires
        absent = [r for r in required if r not in started]
        if absent:
            raise ComponentError(f"{name} needs {', '.join(required)} started before it; add "
                                 f"{', '.join(absent)} to --only, ahead of {name}")
        # ``wants``: used when started before it (the node uses cluster DNS when there is one).
        used = [*required, *(w for w in comp.wants if w in started)]
        if used:
            comp.use({r: started[r]["info"] for r in used})
        t0 = time.monotonic()
        progress(f"{name}: building (cached after the first time)…")
        comp.build()
        t1 = time.monotonic()
        progress(f"{name}: starting…")
        self.components[name] = comp
        comp.start()
        progress(f"{name}: up in {time.monotonic() - t1:.1f}s")
        return {**_entry(comp), "build_seconds": round(t1 - t0, 1),
                "start_seconds": round(time.monotonic() - t1, 1)}

    def record(self, components: list[Component]) -> None:
        """Remember components that this process started itself (e.g. side by side) in
        ``state.json``, so that ``down`` stops them: from here, or from another process once
        this one is gone (a watchdog of a server that was killed)."""
        self._write({"started": time.time(),
                     "components": {comp.name: _entry(comp) for comp in components}})

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.chmod(0o600)  # holds generated passwords
        os.replace(tmp, self.state_path)

    def platform_config(self, state: dict[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = {"storage": [{"name": "local", "kind": "local"}],
                                  "targets": [{"name": "local", "kind": "local"}]}
        for name, entry in state["components"].items():
            module = importlib.import_module(COMPONENTS[name].split(":")[0])
            fragment = module.platform_config(entry["info"])
            for key, value in fragment.items():
                if isinstance(value, list):
                    config.setdefault(key, []).extend(value)
                else:
                    config[key] = value
        return config

    def write_platform_config(self, state: dict[str, Any]) -> Path:
        path = self.workdir / "mlplat.yaml"
        path.write_text(yaml.safe_dump(self.platform_config(state), sort_keys=False))
        path.chmod(0o600)  # the database URL carries a password
        return path

    def stop_all(self) -> None:
        for comp in reversed(list(self.components.values())):
            comp.stop()
        self.components.clear()

    def down(self) -> list[str]:
        """Stop what ``up`` started, from this process or from the state file of another."""
        self.stop_all()
        state = self.read_state()
        entries = list(reversed(list(state.get("components", {}).items())))
        for name, entry in entries:
            _hook(name, "release", entry)
        for _, entry in entries:  # signal every group first so that their shutdowns overlap
            for pid in entry.get("pids", []):
                _signal_group(pid, entry.get("stop_signal", "SIGTERM"))
        stopped = []
        for name, entry in entries:
            for pid in entry.get("pids", []):
                stop_process_group(pid)
            _hook(name, "cleanup", entry)
            for path in entry.get("scratch", []):
                shutil.rmtree(path, ignore_errors=True)
            stopped.append(name)
        if self.state_path.exists():
            self.state_path.unlink()
        return stopped

    def _running(self) -> bool:
        """Whether any process recorded by a previous ``up`` is still alive."""
        components = self.read_state().get("components", {})
        return any(_alive(pid) for entry in components.values() for pid in entry.get("pids", []))

    def status(self) -> dict[str, Any]:
        state = self.read_state()
        for entry in state.get("components", {}).values():
            entry["alive"] = all(_alive(pid) for pid in entry.get("pids", []))
        return state


def _entry(comp: Component) -> dict[str, Any]:
    """What ``down`` needs of a started component: its info, processes and stop signal."""
    scratch = getattr(comp, "scratch_paths", None)
    return {"info": comp.info(), "pids": comp.pids(),
            "stop_signal": getattr(comp, "stop_signal", "SIGTERM"),
            "scratch": scratch() if callable(scratch) else []}


def _hook(name: str, hook: str, entry: dict[str, Any]) -> None:
    """Call the component module's ``release``/``cleanup`` with its recorded info, if any."""
    if name not in COMPONENTS or "info" not in entry:
        return
    module = importlib.import_module(COMPONENTS[name].split(":")[0])
    function = getattr(module, hook, None)
    if callable(function):
        function(entry["info"])


def _signal_group(pid: int, name: str) -> None:
    """Send the component's preferred stop signal (e.g. PostgreSQL's fast ``SIGINT``)."""
    with contextlib.suppress(ProcessLookupError, ValueError, AttributeError):
        os.killpg(os.getpgid(pid), getattr(signal, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
