"""The image step of a cluster job, behind one callable so the backend does not care how.

:func:`build_job_image` is the default: the append builder of :mod:`jupyter_mlplat.images`
(code layer onto the runtime's base, pushed, pinned by digest at the pull address), which first
checks that the base declares what a notebook job needs (:mod:`jupyter_mlplat.images.contract`).
Tests or a deployment with another builder pass any ``ImageBuilder`` to the backend instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ...errors import InvalidRequest
from ...images import BuiltImage, CodeSource, ProgressCallback, build_and_push, contract
from ...images.append import BaseImage
from ..context import JobContext
from ..schemas import Job

ImageBuilder = Callable[[Job, ProgressCallback], BuiltImage]


def code_source(job: Job, root: Path) -> CodeSource:
    spec = job.spec
    if spec.notebook is not None:
        return CodeSource(notebook=root / spec.notebook, include=tuple(spec.files),
                          parameters=spec.parameters)
    return CodeSource(code=spec.code or "", include=tuple(spec.files), base_dir=root,
                      parameters=spec.parameters)


def default_builder(ctx: JobContext) -> ImageBuilder:
    def build_job_image(job: Job, progress: ProgressCallback) -> BuiltImage:
        if ctx.config.registry is None:
            raise InvalidRequest("cluster jobs need `registry` in the platform config",
                                 reason="no registry")
        work = ctx.job_dir(job.id) / "image"
        work.mkdir(parents=True, exist_ok=True)
        try:
            runtime = ctx.config.runtime_for(job.spec.runtime)

            def runs_notebooks(base: BaseImage) -> None:
                contract.check(str(base.ref), base.config, kernel=runtime.kernel)

            return build_and_push(ctx.config.registry, runtime, code_source(job, ctx.root_dir),
                                  user=job.user, job_id=job.id, work_dir=work,
                                  progress=progress, check_base=runs_notebooks)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return build_job_image
