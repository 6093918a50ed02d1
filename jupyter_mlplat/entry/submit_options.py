"""The options of a submit, stated once and rendered for ``mlp jobs submit`` (click) and for
``%mlp_submit`` (IPython's argparse-based magic arguments).

Each option names the :class:`~jupyter_mlplat.jobs.schemas.JobSpec` (or resources) field it
fills; its help text is that field's description, so the REST schema, the CLI and the magic
explain a field the same way. Adding a field here adds it to both entry points.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

from ..config import Resources
from ..jobs.schemas import JobSpec

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SubmitOption:
    """``--flag`` for the spec (or resources) field ``field``."""

    field: str
    flag: str = ""
    kind: type = str
    minimum: int | None = None
    repeat: bool = False
    metavar: str | None = None
    resource: bool = False

    @property
    def flags(self) -> str:
        return self.flag or "--" + self.field

    @property
    def dest(self) -> str:
        return self.flags.lstrip("-").replace("-", "_")

    @property
    def help(self) -> str:
        model = Resources if self.resource else JobSpec
        info = model.model_fields[self.field]
        text = info.description or self.field
        if self.field == "kind":
            return "Kind of job: " + ", ".join(self.choices or ()) + "."
        return text + (" (repeatable)" if self.repeat else "")

    @property
    def choices(self) -> tuple[str, ...] | None:
        model = Resources if self.resource else JobSpec
        values = get_args(model.model_fields[self.field].annotation)
        return tuple(values) if values and all(isinstance(v, str) for v in values) else None


SUBMIT_OPTIONS: tuple[SubmitOption, ...] = (
    SubmitOption("target"),
    SubmitOption("runtime"),
    SubmitOption("name"),
    SubmitOption("cpu", resource=True),
    SubmitOption("memory", resource=True),
    SubmitOption("gpu", "--gpus", int, minimum=0, resource=True),
    SubmitOption("workers", kind=int, minimum=0),
    SubmitOption("kind"),
    SubmitOption("output"),
    SubmitOption("timeout", kind=int, minimum=1),
    SubmitOption("files", "--file", repeat=True, metavar="GLOB"),
)
PARAMETER_HELP = ("A notebook parameter; the value is read as the notebook declares it "
                  "(repeatable).")


def spec_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The parsed options (by ``dest``) as keyword arguments of ``make_spec``."""
    fields = {option.field: values.get(option.dest) for option in SUBMIT_OPTIONS}
    if not fields.get("files"):
        fields.pop("files")
    return fields


def click_options(func: F) -> F:
    """``@click.option`` for every submit option."""
    import click

    for option in reversed(SUBMIT_OPTIONS):
        kind: Any = option.kind
        if option.choices:
            kind = click.Choice(option.choices)
        elif option.kind is int and option.minimum is not None:
            kind = click.IntRange(min=option.minimum)
        func = click.option(option.flags, option.dest, type=kind, multiple=option.repeat,
                            metavar=option.metavar, help=option.help)(func)
    return func


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    parse.__name__ = "int"  # argparse names the type in its error message
    return parse


def magic_arguments(func: F) -> F:
    """IPython ``@argument`` for every submit option (under ``@magic_arguments()``)."""
    from IPython.core.magic_arguments import argument

    for option in reversed(SUBMIT_OPTIONS):
        kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help}
        if option.choices:
            kwargs["choices"] = list(option.choices)
        elif option.kind is int:
            kwargs["type"] = _at_least(option.minimum) if option.minimum is not None else int
        if option.repeat:
            kwargs.update(action="append", default=[], metavar=option.metavar)
        func = argument(option.flags, **kwargs)(func)
    return func
