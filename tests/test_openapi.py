"""The OpenAPI file: generated from the models, and held against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_mlplat.api import openapi

from .helpers import LOCAL_TARGET
from .live_server import live_server


def test_committed_file_matches_the_models() -> None:
    assert openapi.SCHEMA_FILE.read_text() == openapi.render(), (
        "schemas/openapi.yaml is stale: run `python -m jupyter_mlplat.api.openapi`"
    )


def test_server_conforms_to_the_openapi_file(tmp_path: Path) -> None:
    # `make fuzz` raises the example count and puts the sandbox engines behind the server.
    examples = int(os.environ.get("MLPLAT_FUZZ_EXAMPLES", "25"))
    config = os.environ.get("MLPLAT_FUZZ_CONFIG")
    if not config:
        # The fuzzer's jobs run (it writes notebooks and submits them), and what they do is not
        # what this test checks: one at a time and started cold, a few of them run instead of
        # every one (a warm pool ran over a hundred per run, most of this test's CPU).
        local = {**LOCAL_TARGET, "max_parallel": 1}
        config = str(tmp_path / "platform.yaml")
        Path(config).write_text(json.dumps({"targets": [local]}))  # YAML is a superset of JSON
    extra = [f"--MLPlatApp.config_file={config}"]
    with live_server(tmp_path, *extra) as server:
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", str(openapi.SCHEMA_FILE),
             "--url", server.url, "-H", f"Authorization: token {server.token}",
             "--checks", "not_a_server_error,status_code_conformance,"
             "content_type_conformance,response_schema_conformance",
             "--max-examples", str(examples), "--workers", "1", "--no-color",
             "--phases", "examples,coverage,fuzzing"],
            capture_output=True, text=True, timeout=max(600, examples * 24), check=False,
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
