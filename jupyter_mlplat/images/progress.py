"""Progress reports from a build, for the jobs service's ``building``/``pushing`` states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Phase = Literal["building", "pushing"]


@dataclass(frozen=True)
class Progress:
    """One report. ``bytes_done``/``bytes_total`` count layer bytes that actually move.

    Mounted base layers and blobs the registry already holds move nothing and are not counted,
    so an unchanged resubmit reports ``bytes_total == 0``. ``bytes_total`` can grow during a
    push when the registry refuses a mount and a base layer has to be copied instead.
    """

    phase: Phase
    message: str
    bytes_done: int = 0
    bytes_total: int = 0


ProgressCallback = Callable[[Progress], None]


def ignore(_progress: Progress) -> None:
    """The default callback."""
