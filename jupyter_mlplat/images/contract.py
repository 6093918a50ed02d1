"""What a runtime image must contain for a job to run in it, read from its image config labels.

The job's command is ``<runtime.python> <workdir>/.mlplat/runner.py notebook ...`` (the runner
travels in the code layer), which needs CPython >= 3.10 with papermill and a kernel of the name
the runtime configures. An image cannot be asked what it contains without running it, so the
runtime image declares it in labels of its image config, and the append builder checks them
right after it reads the base config from the registry: an image that lacks something fails the
job at ``building``, with the missing parts named, before anything is pushed or any pod made.

=================================  ====================================  ============
label                              value                                 required
=================================  ====================================  ============
``org.mlplat.runtime.python``      ``3.11`` (major.minor of runtime.python)  yes, >= 3.10
``org.mlplat.runtime.papermill``   papermill's version, e.g. ``2.6.0``   yes
``org.mlplat.runtime.kernels``     kernel names, comma separated         yes (runtime.kernel)
``org.mlplat.runtime.hdfs``        e.g. ``jupyter_mlplat 0.3.0``         no: ``hdfs://`` in jobs
=================================  ====================================  ============

docs/runtime-images.md explains how to build an image that carries them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import RuntimeImageIncomplete

LABEL_PYTHON = "org.mlplat.runtime.python"
LABEL_PAPERMILL = "org.mlplat.runtime.papermill"
LABEL_KERNELS = "org.mlplat.runtime.kernels"
LABEL_HDFS = "org.mlplat.runtime.hdfs"
MIN_PYTHON = (3, 10)
DOC = "docs/runtime-images.md"


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().split(".")[:2])
    except ValueError:
        return None


def missing(labels: Mapping[str, str], *, kernel: str = "python3") -> list[str]:
    """What the image lacks, one readable item each (empty: it can run jobs)."""
    problems = []
    python = labels.get(LABEL_PYTHON)
    if not python:
        problems.append(f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ (no label {LABEL_PYTHON})")
    else:
        found = _version(python)
        if found is None or found < MIN_PYTHON:
            problems.append(f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ ({LABEL_PYTHON} is "
                            f"{python!r})")
    if not labels.get(LABEL_PAPERMILL):
        problems.append(f"papermill (no label {LABEL_PAPERMILL})")
    kernels = [k.strip() for k in (labels.get(LABEL_KERNELS) or "").split(",") if k.strip()]
    if kernel not in kernels:
        have = f"it lists {', '.join(kernels)}" if kernels else f"no label {LABEL_KERNELS}"
        problems.append(f"the kernel {kernel!r} ({have})")
    return problems


def labels_of(config: Mapping[str, Any]) -> dict[str, str]:
    run = config.get("config") or {}
    return {str(k): str(v) for k, v in (run.get("Labels") or {}).items()}


def check(image: str, config: Mapping[str, Any], *, kernel: str = "python3") -> None:
    """Raise :class:`RuntimeImageIncomplete` naming what ``image`` (its config) lacks."""
    problems = missing(labels_of(config), kernel=kernel)
    if problems:
        raise RuntimeImageIncomplete(
            f"the runtime image {image} cannot run notebook jobs: it lacks "
            f"{'; '.join(problems)}. See {DOC} for what a runtime image must contain and the "
            "labels that declare it.")
