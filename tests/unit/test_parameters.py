"""Notebook parameters: papermill's inspection, declared types, coercion and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlplat.errors import InvalidRequest
from jupyter_mlplat.parameters import (
    NotebookParameters,
    Parameter,
    coerce,
    declared_type,
    inspect,
    validate,
)
from tests.helpers import write_notebook

PARAMS = '''n: int = 3
lr = 0.5
name = "x"
flags: list = []
anything = None
on = True
'''


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> NotebookParameters:
    return inspect(write_notebook(tmp_path_factory.mktemp("nb") / "p.ipynb", PARAMS))


def types(declared: NotebookParameters) -> dict[str, str]:
    return {p.name: declared_type(p) for p in declared.parameters}


def test_inspect_reads_the_parameters_cell(declared: NotebookParameters) -> None:
    assert declared.has_parameters_cell
    assert [p.name for p in declared.parameters] == ["n", "lr", "name", "flags", "anything", "on"]


def test_declared_type_prefers_annotation_then_default(declared: NotebookParameters) -> None:
    assert types(declared) == {"n": "int", "lr": "float", "name": "str", "flags": "list",
                               "anything": "any", "on": "bool"}


def test_declared_type_of_unparseable_default_is_any() -> None:
    assert declared_type(Parameter(name="x", default="some_function()")) == "any"


def test_unknown_annotations_accept_any_value() -> None:
    declared = NotebookParameters(has_parameters_cell=True, parameters=[
        Parameter(name="x", inferred_type_name="Optional[int]", default="None")])
    assert validate({"x": None}, declared) == []
    assert validate({"x": 5}, declared) == []


def test_notebook_without_parameters_cell(tmp_path: Path) -> None:
    found = inspect(write_notebook(tmp_path / "plain.ipynb", parameters=None))
    assert not found.has_parameters_cell
    assert found.parameters == []


@pytest.mark.parametrize(("text", "type_name", "expected"), [
    ("5", "int", 5),
    ("5", "float", 5.0),
    ("0.1", "float", 0.1),
    ("5", "str", "5"),
    ("True", "str", "True"),
    ("true", "bool", True),
    ("FALSE", "any", False),
    ("none", "any", None),
    ("[1, 2]", "list", [1, 2]),
    ("{'a': 1}", "dict", {"a": 1}),
    ("hello world", "any", "hello world"),
    ("'quoted'", "any", "quoted"),
    ("1e-3", "float", 0.001),
])
def test_coerce(text: str, type_name: str, expected: object) -> None:
    value = coerce(text, type_name)
    assert value == expected
    assert type(value) is type(expected)


def test_validate_accepts_declared_values(declared: NotebookParameters) -> None:
    assert validate({"n": 5, "lr": 1, "name": "y", "flags": [1], "anything": {"k": 1},
                     "on": False}, declared) == []


def test_validate_names_unknown_parameters(declared: NotebookParameters) -> None:
    with pytest.raises(InvalidRequest) as err:
        validate({"n": 1, "epochs": 2, "batch": 3}, declared)
    assert "unknown parameters batch, epochs" in err.value.message
    assert "n, lr, name" in err.value.message


@pytest.mark.parametrize(("name", "value"), [("n", "5"), ("n", True), ("n", 1.5),
                                             ("lr", "x"), ("on", 1), ("flags", {})])
def test_validate_refuses_wrong_types(declared: NotebookParameters, name: str,
                                      value: object) -> None:
    with pytest.raises(InvalidRequest) as err:
        validate({name: value}, declared)
    assert f"parameter {name!r} must be" in err.value.message


def test_validate_warns_when_there_is_no_parameters_cell() -> None:
    declared = NotebookParameters(parameters=[], has_parameters_cell=False)
    assert validate({}, declared) == []
    (warning,) = validate({"x": 1}, declared)
    assert "no cell tagged `parameters`" in warning
