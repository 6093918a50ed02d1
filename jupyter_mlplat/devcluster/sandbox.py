"""The sandbox: start the chosen components, remember them in ``state.json``, stop them.

Each component module provides one :class:`~.base.Component` subclass and a
``platform_config(info) -> dict`` fragment; the sandbox merges those fragments into the config
file that makes ``jupyter lab`` (and the ``mlp`` CLI) use the sandbox.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path
from typing import Any

import yaml

from .base import Component, ComponentError, cache_dir, stop_process_group

#: component name -> "module:Class"; each module also exports ``platform_config(info)``.
COMPONENTS: dict[str, str] = {
    "hdfs": "jupyter_mlplat.devcluster.hdfs:HdfsClusters",
    "kube": "jupyter_mlplat.devcluster.kube:Kubernetes",
    "registry": "jupyter_mlplat.devcluster.registry:Registries",
    "postgres": "jupyter_mlplat.devcluster.postgres:Postgres",
}


def component_class(name: str) -> type[Component]:
    try:
        module_name, cls_name = COMPONENTS[name].split(":")
    except KeyError:
        raise ComponentError(
            f"unknown component {name!r}; valid: {', '.join(COMPONENTS)}"
        ) from None
    return getattr(importlib.import_module(module_name), cls_name)  # type: ignore[no-any-return]


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
        return json.loads(self.state_path.read_text())  # type: ignore[no-any-return]

    def up(self, names: list[str], progress: Any = print) -> dict[str, Any]:
        if self.read_state().get("components"):
            raise ComponentError(
                f"a sandbox is already running in {self.workdir}; run `mlp devcluster down` first"
            )
        state: dict[str, Any] = {"started": time.time(), "components": {}}
        try:
            for name in names:
                comp = component_class(name)(self.workdir)
                t0 = time.monotonic()
                progress(f"{name}: building (cached after the first time)…")
                comp.build()
                t1 = time.monotonic()
                progress(f"{name}: starting…")
                comp.start()
                self.components[name] = comp
                state["components"][name] = {
                    "info": comp.info(), "pids": comp.pids(),
                    "build_seconds": round(t1 - t0, 1),
                    "start_seconds": round(time.monotonic() - t1, 1),
                }
                progress(f"{name}: up in {time.monotonic() - t1:.1f}s")
                self._write(state)
        except BaseException:
            self.stop_all()
            raise
        state["config_file"] = str(self.write_platform_config(state))
        self._write(state)
        return state

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
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
        return path

    def stop_all(self) -> None:
        for comp in reversed(list(self.components.values())):
            comp.stop()
        self.components.clear()

    def down(self) -> list[str]:
        """Stop what ``up`` started, from this process or from the state file of another."""
        self.stop_all()
        state = self.read_state()
        stopped = []
        for name, entry in reversed(list(state.get("components", {}).items())):
            for pid in entry.get("pids", []):
                stop_process_group(pid)
            stopped.append(name)
        if self.state_path.exists():
            self.state_path.unlink()
        return stopped

    def status(self) -> dict[str, Any]:
        state = self.read_state()
        for entry in state.get("components", {}).values():
            entry["alive"] = all(_alive(pid) for pid in entry.get("pids", []))
        return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
