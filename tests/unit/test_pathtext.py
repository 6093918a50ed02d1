"""Paths in requests are text a filesystem can take; the error names the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jupyter_mlplat.jobs.schemas import JobSpec
from jupyter_mlplat.models.schemas import PublishRequest
from jupyter_mlplat.runs.schemas import RunRequest


@pytest.mark.parametrize(("value", "words"), [("a\x00b", "NUL"), ("x\ud963y", "unicode|surrogate")])
def test_unusable_paths_are_refused_naming_the_field(value: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        PublishRequest(name="m", path=value)
    assert info.value.errors()[0]["loc"] == ("path",)
    with pytest.raises(ValidationError, match=words):
        JobSpec(notebook="nb.ipynb", files=["ok", value])
    with pytest.raises(ValidationError, match=words):
        RunRequest(notebook=value)


def test_ordinary_paths_pass() -> None:
    assert PublishRequest(name="m", path="models/ünï code/x.pt").path == "models/ünï code/x.pt"
