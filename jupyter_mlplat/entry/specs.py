"""What a user typed, read the same way in a shell and in a cell: notebook paths relative to the
caller's folder, ``-p NAME VALUE`` pairs by the notebook's declared types, and a job spec."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest
from ..jobs.schemas import JobSpec

if TYPE_CHECKING:
    from ..jobs.service import JobService


def notebook_arg(path: str, cwd: Path | None = None) -> str:
    """A notebook named relative to the caller's cwd, as the absolute path the service resolves.

    The service accepts absolute paths inside the Jupyter root and stores them relative to it,
    so a kernel or shell started in a sub-folder can name notebooks the way its user sees them.
    """
    if "://" in path:
        return path
    return str(((cwd or Path.cwd()) / Path(path).expanduser()).resolve())


def coerce_parameters(pairs: Iterable[Sequence[str]], types: dict[str, str]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as Python values, guided by the notebook's declared types.

    Names the notebook does not declare are passed through (as ``any``) so that the service
    refuses them with the one message every entry point shows.
    """
    from ..parameters import coerce

    return {name: coerce(value, types.get(name, "any")) for name, value in pairs}


def declared_types(jobs: JobService, notebook: str | None) -> dict[str, str]:
    """Parameter name -> declared type of a notebook under the root (empty for code jobs)."""
    from ..parameters import declared_type

    if notebook is None or "://" in notebook:
        return {}
    return {p.name: declared_type(p) for p in jobs.inspect(notebook).parameters}


def make_spec(jobs: JobService, *, notebook: str | None = None, code: str | None = None,
              parameters: Iterable[Sequence[str]] = (), cpu: str | None = None,
              memory: str | None = None, gpu: int | None = None,
              **fields: Any) -> JobSpec:
    """A :class:`JobSpec` from command-line style options; unset options keep the defaults."""
    values = coerce_parameters(parameters, declared_types(jobs, notebook))
    resources = {k: v for k, v in (("cpu", cpu), ("memory", memory), ("gpu", gpu))
                 if v is not None}
    data: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    return JobSpec.model_validate({"notebook": notebook, "code": code, "parameters": values,
                                   "resources": resources, **data})


def parse_metrics(pairs: Iterable[str]) -> dict[str, float]:
    """``NAME=NUMBER`` texts (``--metric``) as a dict."""
    metrics = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            metrics[key] = float(value)
        except ValueError:
            raise InvalidRequest(f"--metric {pair!r}: write metrics as NAME=NUMBER") from None
    return metrics
