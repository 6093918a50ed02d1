"""A model folder served with TF Serving's status API, for clusters without a TF Serving image.

``python -m jupyter_mlplat.models.folder_serving --model_name=NAME --model_base_path=DIR
--rest_api_port=8501`` takes TF Serving's own flags (the serving Deployment passes them as its
container's ``args``), so an image whose entrypoint is this module (the sandbox's
``serving/folder``, built from the runtime image) is a drop-in serving image for a deploy. Like
TF Serving it serves the highest numeric version folder of ``DIR`` and picks up new versions as
they appear. It answers, on the REST port:

* ``GET /v1/models/NAME`` — TF Serving's model status: the served version ``AVAILABLE`` (404 while
  the folder has no version yet, so the readiness probe holds the replica back);
* ``GET /v1/models/NAME/metadata`` — the served version and its files (path and size);
* ``GET /v1/models/NAME/versions/N/files/PATH`` — one file of version N;
* ``:predict``/``:classify``/``:regress`` — 501: it runs no model, it serves the folder.

Only the standard library: it runs in any image with Python and the platform package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def versions(base: Path) -> list[int]:
    """The numeric version folders of ``base``, lowest first."""
    try:
        return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit() and p.is_dir())
    except OSError:
        return []


def files_of(folder: Path) -> list[dict[str, Any]]:
    return [{"path": p.relative_to(folder).as_posix(), "size": p.stat().st_size}
            for p in sorted(folder.rglob("*")) if p.is_file()]


class Handler(BaseHTTPRequestHandler):
    server: FolderServer

    def log_message(self, format: str, *args: Any) -> None:
        if not self.path.startswith(f"/v1/models/{self.server.model}") or "404" in str(args):
            super().log_message(format, *args)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        model, base = self.server.model, self.server.base
        prefix = f"/v1/models/{model}"
        path = self.path.split("?", 1)[0]
        if path != prefix and not path.startswith(prefix + "/"):
            self._json(404, {"error": f"Servable not found for request: Latest({path})"})
            return
        found = versions(base)
        if not found:
            self._json(404, {"error": f"Could not find any versions of model {model}"})
            return
        served = found[-1]
        rest = path[len(prefix):]
        if rest in ("", "/"):
            self._json(200, {"model_version_status": [
                {"version": str(served), "state": "AVAILABLE",
                 "status": {"error_code": "OK", "error_message": ""}}]})
        elif rest == "/metadata":
            self._json(200, {"model_spec": {"name": model, "version": str(served)},
                             "metadata": {"files": files_of(base / str(served))}})
        elif match := re.fullmatch(r"/versions/(\d+)/files/(.+)", rest):
            folder = (base / match.group(1)).resolve()
            target = (folder / match.group(2)).resolve()
            if not target.is_relative_to(folder) or not target.is_file():
                self._json(404, {"error": f"no file {match.group(2)!r} in version "
                                          f"{match.group(1)}"})
                return
            data = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._json(404, {"error": f"unknown path {path!r}"})

    def do_POST(self) -> None:
        self._json(501, {"error": "this server serves the model's folder; it runs no model "
                                  "(deploy with a TF Serving image to predict)"})


class FolderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, model: str, base: Path) -> None:
        super().__init__(("0.0.0.0", port), Handler)  # a pod's port
        self.model, self.base = model, base


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model_name", required=True)
    parser.add_argument("--model_base_path", required=True)
    parser.add_argument("--rest_api_port", type=int, default=8501)
    # TF Serving's other flags, accepted so that its Deployment args fit unchanged
    parser.add_argument("--port", type=int, default=8500, help="gRPC: not served")
    parser.add_argument("--file_system_poll_wait_seconds", type=float, default=1)
    args, _unknown = parser.parse_known_args(argv)
    server = FolderServer(args.rest_api_port, args.model_name, Path(args.model_base_path))
    print(f"serving {args.model_base_path} as model {args.model_name!r} on port "
          f"{args.rest_api_port} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
