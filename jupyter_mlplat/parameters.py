"""Notebook parameters: what a notebook declares (papermill's inspection) and checking values.

Used by job submit, parameterized runs, the submit dialog, the magics and the CLI, so a value
is accepted or refused the same way everywhere.
"""

from __future__ import annotations

import ast
import json
import keyword
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ValidationInfo

from .errors import InvalidRequest


def check_name(name: str) -> str:
    """A parameter name is a Python identifier and not a keyword: papermill writes it as the
    left side of an assignment, so anything else would be code."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"parameter name {name!r} must be a Python identifier (letters, "
                         "digits and `_`, not starting with a digit) and not a keyword")
    return name


def _check_requested_name(name: str, info: ValidationInfo) -> str:
    """Names in requests are checked; stored ones are read back as they are (a submit or a
    firing checks them again through :func:`validate` before they reach papermill)."""
    if info.context and info.context.get(STORED):
        return name
    return check_name(name)


#: Validation context of models read back from the database.
STORED = "stored"
ParameterName = Annotated[str, AfterValidator(_check_requested_name)]
#: Parameters in a request: names checked by the model, values by :func:`validate`.
Parameters = dict[ParameterName, Any]


def human_bytes(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.0f} bytes"  # pragma: no cover


def check_names_and_size(values: dict[str, Any], limit: int | None) -> None:
    """Every name an identifier, and the parameters as JSON within ``limit`` bytes (400)."""
    for name in values:
        try:
            check_name(name)
        except ValueError as exc:
            raise InvalidRequest(f"parameters: {exc}", reason="parameter name") from None
    if limit is not None:
        size = len(json.dumps(values, default=str).encode())
        if size > limit:
            raise InvalidRequest(
                f"parameters: {human_bytes(size)} as JSON; the limit is {human_bytes(limit)} "
                "(limits.max_parameters_bytes): pass large data as a file path instead",
                reason="limit")


class Parameter(BaseModel):
    name: str
    inferred_type_name: str = "None"
    default: str | None = None
    help: str = ""


class NotebookParameters(BaseModel):
    parameters: list[Parameter]
    has_parameters_cell: bool


def inspect(path: Path | str, label: str | None = None) -> NotebookParameters:
    """The parameters of a notebook's cell tagged ``parameters`` (papermill's own inspection).

    A file that is not a notebook is the user's error (400), named by ``label``."""
    import nbformat  # with jsonschema: seconds to import, so not when a kernel loads the magics
    import papermill

    try:
        nb = nbformat.read(str(path), as_version=4)
        has_cell = any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells)
        found = papermill.inspect_notebook(str(path)) if has_cell else {}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        what = "is not JSON" if isinstance(exc, nbformat.reader.NotJSONError) \
            else "is not a valid notebook"
        raise InvalidRequest(f"notebook {label or Path(path).name!r} {what}; open it in "
                             "JupyterLab and save it again", reason="invalid notebook") from None
    params = [
        Parameter(
            name=name,
            inferred_type_name=str(info.get("inferred_type_name") or "None"),
            default=info.get("default"),
            help=str(info.get("help") or ""),
        )
        for name, info in found.items()
    ]
    return NotebookParameters(parameters=params, has_parameters_cell=has_cell)


def _default_value(param: Parameter) -> Any:
    if param.default is None:
        return None
    try:
        return ast.literal_eval(param.default)
    except (ValueError, SyntaxError):
        return None


def declared_type(param: Parameter) -> str:
    """The type to check against: the annotation papermill read, else the default's type."""
    name = param.inferred_type_name.lower().split("[")[0]
    if name not in ("", "none"):
        return name
    value = _default_value(param)
    return type(value).__name__ if value is not None else "any"


def _fits(value: Any, type_name: str) -> bool:
    if type_name == "any" or value is None:
        return True
    checks: dict[str, Any] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "list": lambda v: isinstance(v, list),
        "tuple": lambda v: isinstance(v, list),
        "dict": lambda v: isinstance(v, dict),
    }
    check = checks.get(type_name)
    return True if check is None else bool(check(value))


def validate(values: dict[str, Any], declared: NotebookParameters,
             limit: int | None = None) -> list[str]:
    """Raise :class:`InvalidRequest` for names that are not identifiers, parameters over
    ``limit`` bytes, unknown names or wrong types; return warnings."""
    check_names_and_size(values, limit)
    if not declared.has_parameters_cell:
        if values:
            return [
                "the notebook has no cell tagged `parameters`; the values are injected at the "
                "top of the notebook (papermill's behaviour)"
            ]
        return []
    known = {p.name: p for p in declared.parameters}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidRequest(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the notebook declares: {', '.join(known) or '(none)'}",
            reason="unknown parameter",
        )
    for name, value in values.items():
        type_name = declared_type(known[name])
        if not _fits(value, type_name):
            raise InvalidRequest(
                f"parameter {name!r} must be {type_name}, got {type(value).__name__} "
                f"{value!r}", reason="parameter type",
            )
    return []


def coerce(text: str, type_name: str = "any") -> Any:
    """A command-line value (``-p lr 0.1``) as the Python value it spells, guided by the type."""
    if type_name == "str":
        return text
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    if type_name == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
