"""A clean install from nothing: a throw-away venv, the package installed into it with no
extras (by uv, as scripts/setup installs it), and the package works there — the server extension
loads, the lab extension is enabled, ``mlp`` runs, ``pip check`` is clean, and optional features
answer with the extra to install.

The machine that runs the suite keeps whatever earlier work installed; only a new environment
shows a dependency that the code imports but pyproject.toml does not declare. uv resolves as pip
does, from its cache: 5 s where ``pip install .`` takes 38 s on a warm machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.live_server import live_server

ROOT = Path(__file__).resolve().parent.parent
BUILT_FRONTEND = ROOT / "jupyter_mlplat" / "labextension" / "package.json"

pytestmark = pytest.mark.timeout(900)


def _run(venv: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], env=env, cwd=venv.parent,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(venv, env): the package installed from this checkout, no extras, nothing else."""
    assert BUILT_FRONTEND.exists(), "build the frontend first (jlpm build): the wheel ships it"
    base = tmp_path_factory.mktemp("fresh-install")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
           and not key.startswith("JUPYTER")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    # the venv has pip (for `pip check` below); uv fills it, byte-compiling nothing up front
    install = subprocess.run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python",
                              str(venv / "bin" / "python"), str(ROOT)], env=env, cwd=base,
                             capture_output=True, text=True, timeout=600, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    return venv, env


def test_the_package_and_jupyterlab_import(fresh: tuple[Path, dict[str, str]]) -> None:
    venv, env = fresh
    probe = _run(venv, "python", "-c", "import jupyterlab, jupyter_mlplat", env=env)
    assert probe.returncode == 0, probe.stderr


def test_every_module_imports_without_extras(fresh: tuple[Path, dict[str, str]]) -> None:
    """Server extension, kernel extension, CLI, runner, sandbox: all load on the core deps."""
    venv, env = fresh
    script = (
        "import importlib, json, pkgutil, jupyter_mlplat\n"
        "from jupyter_mlplat.errors import MissingExtra\n"
        "failed, extras = {}, {}\n"
        "for m in pkgutil.walk_packages(jupyter_mlplat.__path__, 'jupyter_mlplat.'):\n"
        "    if m.name.startswith('jupyter_mlplat.migrations') or m.name.endswith('__main__'):\n"
        "        continue  # alembic scripts and `python -m` entry scripts run, not import\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except MissingExtra as exc:\n"
        "        extras[m.name] = exc.message\n"
        "    except Exception as exc:\n"
        "        failed[m.name] = repr(exc)\n"
        "print(json.dumps([failed, extras]))\n")
    probe = _run(venv, "python", "-c", script, env=env)
    assert probe.returncode == 0, probe.stderr
    failed, extras = json.loads(probe.stdout)
    assert failed == {}
    # only the sandbox's engines are an extra, and they say how to get it
    assert all(name.startswith("jupyter_mlplat.devcluster.") for name in extras), extras
    assert all("pip install 'jupyter_mlplat[devcluster]'" in m for m in extras.values()), extras
    up = _run(venv, "mlp", "devcluster", "up", "--only", "kube", "--workdir",
              str(venv.parent / "sandbox"), env=env)
    assert up.returncode != 0 and "pip install 'jupyter_mlplat[devcluster]'" in up.stderr, (
        up.stdout + up.stderr)


def test_jupyter_lists_both_extensions_as_ok(fresh: tuple[Path, dict[str, str]]) -> None:
    venv, env = fresh
    server = _run(venv, "jupyter", "server", "extension", "list", env=env)
    lines = (server.stdout + server.stderr).splitlines()
    assert any("jupyter_mlplat" in line and "enabled" in line for line in lines), lines
    assert any("jupyter_mlplat" in line and "OK" in line for line in lines), lines
    lab = _run(venv, "jupyter", "labextension", "list", env=env)
    lines = (lab.stdout + lab.stderr).splitlines()
    assert any("jupyter-mlplat" in line and "enabled" in line and "OK" in line
               for line in lines), lines


def test_mlp_runs_and_pip_check_is_clean(fresh: tuple[Path, dict[str, str]]) -> None:
    venv, env = fresh
    cli = _run(venv, "mlp", "--help", env=env)
    assert cli.returncode == 0, cli.stderr
    assert "jobs" in cli.stdout and "devcluster" in cli.stdout
    check = _run(venv, "python", "-m", "pip", "check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_server_answers_and_optional_features_name_their_extra(
        fresh: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """A real server of the fresh venv: the API answers; TensorBoard (an extra) says what to
    install instead of failing to load; a PostgreSQL URL without its driver says the same."""
    venv, env = fresh
    (tmp_path / "root" / "logs").mkdir(parents=True)
    with live_server(tmp_path, python=str(venv / "bin" / "python"), env=env) as server:
        api = f"{server.url}/jupyter-mlplat/api"
        assert requests.get(f"{api}/jobs", headers=server.headers, timeout=30).status_code == 200
        answer = requests.post(f"{api}/tensorboards", json={"logdir": "logs"},
                               headers=server.headers, timeout=30)
        assert answer.status_code == 503, answer.text
        assert "pip install 'jupyter_mlplat[tensorboard]'" in answer.json()["message"]
    probe = _run(venv, "python", "-c",
                 "from jupyter_mlplat.db import Database\n"
                 "from jupyter_mlplat.errors import MissingExtra\n"
                 "try:\n"
                 "    Database('postgresql+psycopg2://u@127.0.0.1:1/db')\n"
                 "except MissingExtra as exc:\n"
                 "    print(exc.message)\n", env=env)
    assert "pip install 'jupyter_mlplat[postgres]'" in probe.stdout, probe.stderr
