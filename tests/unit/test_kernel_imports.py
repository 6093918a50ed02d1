"""``%load_ext jupyter_mlplat`` (every ML Platform kernel runs it at start) loads only what the
magics need: no server, database, Kubernetes, storage or sandbox code until a magic asks."""

from __future__ import annotations

import json
import subprocess
import sys

NOT_AT_KERNEL_START = (
    "sqlalchemy", "kubernetes", "tornado", "jupyter_server", "hdfs", "fsspec", "papermill",
    "nbformat", "click", "jupyter_mlplat.devcluster", "jupyter_mlplat.platform",
    "jupyter_mlplat.db", "jupyter_mlplat.models", "jupyter_mlplat.tensorboard.manager",
    "jupyter_mlplat.storage", "jupyter_mlplat.jobs.service", "jupyter_mlplat.cli",
)

PROBE = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
shell.run_line_magic("load_ext", "jupyter_mlplat")
assert "mlp_submit" in shell.magics_manager.magics["line"]
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_load_ext_imports_only_what_the_magics_need() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    loaded = json.loads(out.splitlines()[-1])
    heavy = [m for m in loaded
             if any(m == name or m.startswith(name + ".") for name in NOT_AT_KERNEL_START)]
    assert heavy == []
