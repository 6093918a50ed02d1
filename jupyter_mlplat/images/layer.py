"""The job's code layer: the notebook (or cell code, or a script), included files and parameters.

Everything goes under the runtime's workdir in one deterministic tar layer (see
:mod:`.tarlayer`): entries sorted, mtime 0, root owner, modes 0644/0755. Same code and parameters
therefore give the same layer digest, and a registry that already holds it is asked for nothing.

The layer also carries ``.mlplat/runner.py``, a copy of :mod:`jupyter_mlplat.runner`. Its
``notebook`` mode needs only papermill (with the nbformat, jupyter_client and jupyter_core it
brings), so a runtime image without our package can still run the notebook; the image's command
runs that copy unless told the package is installed.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from .. import envvars
from .errors import BadInclude, CodeTooLarge
from .tarlayer import Layer, TarEntry, parent_dirs, tarinfo, write_layer

DEFAULT_SIZE_LIMIT = 100 * 1024 * 1024
SUPPORT_DIR = ".mlplat"
PARAMS_FILE = "params.json"
CODE_FILE = "main.py"
OUTPUT_DIR = "mlplat-outputs"
SKIPPED_DIRS = frozenset({".ipynb_checkpoints", "__pycache__", ".git"})
RUNNER_SOURCE = Path(__file__).resolve().parent.parent / "runner.py"
RunnerKind = Literal["script", "module"]


@dataclass(frozen=True)
class CodeSource:
    """What a job ships: exactly one of ``notebook``, ``code`` or ``script``, plus includes.

    ``include`` globs are relative to ``base_dir`` (default: the notebook's or script's folder;
    required for ``code``) and keep their relative paths under the workdir, so a notebook that
    opens ``data/train.csv`` finds it in the image as it did on the workbench.
    """

    notebook: Path | None = None
    code: str | None = None
    script: Path | None = None
    include: Sequence[str] = ()
    base_dir: Path | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.notebook, self.code, self.script)) != 1:
            raise ValueError("give exactly one of notebook, code or script")

    @property
    def folder(self) -> Path | None:
        if self.base_dir is not None:
            return self.base_dir
        main = self.notebook or self.script
        return None if main is None else main.parent


@dataclass(frozen=True)
class CodeLayer:
    """The built layer and what the image config needs to run it."""

    layer: Layer
    workdir: str
    files: tuple[str, ...]  # absolute paths in the image of the user's files (source first)
    source_hash: str  # sha256 hex over the user's files (paths and contents), not parameters
    command: tuple[str, ...]  # the container command that runs the job
    env: dict[str, str]
    size: int  # bytes of the user's files


@dataclass(frozen=True)
class _Item:
    arcname: str  # relative to the workdir
    path: Path | None = None
    data: bytes | None = None
    executable: bool = False

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size  # type: ignore[union-attr]


class _HashingReader(io.RawIOBase):
    """Hash a file's bytes as tarfile reads them, so each file is read once."""

    def __init__(self, handle: IO[bytes], sha: Any) -> None:
        super().__init__()
        self.handle, self.sha = handle, sha

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        chunk = self.handle.read(-1 if n is None else n)
        self.sha.update(chunk)
        return chunk


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _check_pattern(pattern: str) -> None:
    parts = PurePosixPath(pattern).parts
    if pattern.startswith(("/", "~")) or ".." in parts:
        raise BadInclude(f"include {pattern!r} must be a glob relative to the notebook's folder "
                         "(no absolute paths, no `..`)")


def collect_includes(folder: Path, patterns: Sequence[str]) -> dict[str, Path]:
    """``relative path -> file`` for every file matched by ``patterns`` under ``folder``.

    A matched folder brings all its files; checkpoints, caches and ``.git`` are left out
    unless the pattern names them. Anything that resolves
    outside ``folder`` (a symlink, say) is refused, and so is a pattern matching nothing: it is
    almost always a typo that would otherwise surface as a FileNotFoundError inside the job.
    """
    root = folder.resolve()
    found: dict[str, Path] = {}
    for pattern in patterns:
        _check_pattern(pattern)
        matched = 0
        skipped = SKIPPED_DIRS - set(PurePosixPath(pattern).parts)
        try:
            hits = sorted(folder.glob(pattern))
        except ValueError as exc:  # '' or '**' inside a name: pathlib's own refusal
            raise BadInclude(f"include {pattern!r} is not a usable glob ({exc}); name files "
                             "or folders relative to the notebook's folder, e.g. 'data/*.csv'"
                             ) from None
        for hit in hits:
            paths = [hit] if not hit.is_dir() else sorted(hit.rglob("*"))
            for path in paths:
                if not path.is_file() or skipped.intersection(path.relative_to(folder).parts):
                    continue
                resolved = path.resolve()
                if not resolved.is_relative_to(root):
                    raise BadInclude(f"include {pattern!r} reaches "
                                     f"{path.relative_to(folder).as_posix()!r}, which leads "
                                     "outside the notebook's folder (a symlink)")
                found[path.relative_to(folder).as_posix()] = resolved
                matched += 1
        if not matched:
            raise BadInclude(f"include {pattern!r} matches no files in the notebook's folder")
    return found


def _user_items(source: CodeSource) -> list[_Item]:
    items: list[_Item] = []
    if source.notebook is not None:
        items.append(_Item(source.notebook.name, path=source.notebook))
    elif source.script is not None:
        items.append(_Item(source.script.name, path=source.script, executable=True))
    else:
        items.append(_Item(CODE_FILE, data=(source.code or "").encode()))
    if source.include:
        folder = source.folder
        if folder is None:
            raise BadInclude("included files need a base folder for cell code (base_dir)")
        for rel, path in collect_includes(folder, source.include).items():
            if rel == items[0].arcname:
                continue
            if rel == PARAMS_FILE or rel.split("/")[0] in (SUPPORT_DIR, OUTPUT_DIR):
                raise BadInclude(f"included file {rel!r} would overwrite what the platform "
                                 f"writes ({PARAMS_FILE}, {SUPPORT_DIR}/, {OUTPUT_DIR}/)")
            items.append(_Item(rel, path=path, executable=bool(path.stat().st_mode & 0o100)))
    return items


def check_size(items: Sequence[_Item], limit: int) -> int:
    """The total size, or :class:`CodeTooLarge` naming the biggest files."""
    sizes = [(item.size, item.arcname) for item in items]
    total = sum(size for size, _ in sizes)
    if total > limit:
        biggest = sorted(sizes, key=lambda s: (-s[0], s[1]))[:5]
        names = ", ".join(f"{name} ({_human(size)})" for size, name in biggest)
        raise CodeTooLarge(
            f"the job's files total {_human(total)}, over the {_human(limit)} limit; biggest: "
            f"{names}. Include fewer files, or read large data from storage (hdfs://) instead.")
    return total


def job_command(source: CodeSource, workdir: str, *, python: str, kernel: str, output: str,
                parameters_json: str, runner: RunnerKind) -> tuple[str, ...]:
    """The container command: the runner on the notebook or code, or the script itself."""
    if source.script is not None:
        return (python, posixpath.join(workdir, source.script.name))
    entry = ((python, "-m", "jupyter_mlplat.runner") if runner == "module"
             else (python, posixpath.join(workdir, SUPPORT_DIR, "runner.py")))
    what = (("--input", posixpath.join(workdir, source.notebook.name))
            if source.notebook is not None
            else ("--code", posixpath.join(workdir, CODE_FILE)))
    return (*entry, "notebook", *what, "--output", output, "--parameters", parameters_json,
            "--cwd", workdir, "--kernel", kernel)


def _entries(items: Sequence[_Item], prefix: str, hashes: dict[str, Any]) -> Iterator[TarEntry]:
    """Directory and file entries in name order; files are opened one at a time."""
    names = {f"{prefix}/{item.arcname}": item for item in items}
    dirs = set(parent_dirs(names)) | {prefix, f"{prefix}/{OUTPUT_DIR}"}
    for name in sorted(dirs | set(names)):
        if name in dirs:
            yield tarinfo(name, directory=True), None
            continue
        item = names[name]
        mode = 0o755 if item.executable else 0o644
        sha = hashes[item.arcname] = hashlib.sha256()
        if item.data is not None:
            sha.update(item.data)
            yield tarinfo(name, size=len(item.data), mode=mode), io.BytesIO(item.data)
            continue
        assert item.path is not None
        with open(item.path, "rb") as handle:
            size = item.path.stat().st_size
            yield tarinfo(name, size=size, mode=mode), _HashingReader(handle, sha)  # type: ignore[misc]


def build_code_layer(source: CodeSource, out_dir: Path, *, workdir: str = "/workspace",
                     python: str = "python3", kernel: str = "python3",
                     output: str | None = None, size_limit: int = DEFAULT_SIZE_LIMIT,
                     runner: RunnerKind = "script", compresslevel: int = 6) -> CodeLayer:
    """Write the code layer into ``out_dir`` (named by its digest) and describe how to run it.

    Raises :class:`CodeTooLarge` or :class:`BadInclude` before writing anything.
    """
    workdir = "/" + workdir.strip("/")
    user_items = _user_items(source)
    total = check_size(user_items, size_limit)
    parameters_json = json.dumps(dict(source.parameters), sort_keys=True, default=str)
    output = output or posixpath.join(workdir, OUTPUT_DIR, "output.ipynb")
    command = job_command(source, workdir, python=python, kernel=kernel, output=output,
                          parameters_json=parameters_json, runner=runner)
    platform_items = [
        _Item(PARAMS_FILE, data=(json.dumps(dict(source.parameters), sort_keys=True, indent=2,
                                            default=str) + "\n").encode()),
        _Item(f"{SUPPORT_DIR}/runner.py", data=RUNNER_SOURCE.read_bytes(), executable=True),
    ]
    hashes: dict[str, Any] = {}
    tmp = out_dir / f"code-layer-{secrets.token_hex(6)}.tar.gz"
    layer = write_layer(tmp, _entries([*user_items, *platform_items], workdir.lstrip("/"),
                                      hashes),
                        compresslevel=compresslevel,
                        created_by=f"mlplat: COPY {len(user_items)} files to {workdir}")
    final = out_dir / f"code-{layer.digest.split(':', 1)[1][:16]}.tar.gz"
    tmp.replace(final)
    layer = Layer(path=final, digest=layer.digest, diff_id=layer.diff_id, size=layer.size,
                  created_by=layer.created_by)
    listing = {item.arcname: hashes[item.arcname].hexdigest() for item in user_items}
    source_hash = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()
    main = user_items[0].arcname
    env = {envvars.WORKDIR: workdir, envvars.SOURCE: posixpath.join(workdir, main),
           envvars.PARAMETERS_FILE: posixpath.join(workdir, PARAMS_FILE),
           envvars.OUTPUT: output, envvars.SOURCE_HASH: source_hash}
    return CodeLayer(layer=layer, workdir=workdir,
                     files=tuple(posixpath.join(workdir, item.arcname) for item in user_items),
                     source_hash=source_hash, command=command, env=env, size=total)

