"""Paths in requests: text a filesystem can take.

A NUL character or a lone surrogate (JSON may carry ``"\\ud800"``) cannot reach ``os`` or
HDFS; refused at validation, they answer 400 naming the field instead of failing deep inside.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ValidationInfo


def check_path_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a path may not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a path must be valid Unicode text (it holds a lone surrogate)") \
            from None
    return value


PathText = Annotated[str, AfterValidator(check_path_text)]


def check_display_name(value: str, info: ValidationInfo) -> str:
    """A job, run or schedule name is one line of text (files are named after it); stored
    names are read back as they are (their file names are reduced, see containment)."""
    if info.context and info.context.get("stored"):
        return value
    if any(ch in value for ch in "\x00\r\n\t\x0b\x0c") or not value.isprintable():
        raise ValueError("a name may not contain control characters (newlines, tabs)")
    return value


DisplayName = Annotated[str, AfterValidator(check_display_name)]
