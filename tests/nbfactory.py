"""Small notebooks for tests, written with nbformat."""

from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: Path, params: str | None, *cells: str) -> Path:
    """A notebook whose first cell (tagged ``parameters`` unless None) is ``params``."""
    nb = nbformat.v4.new_notebook()
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
