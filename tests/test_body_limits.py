"""Request bodies are bounded where they arrive: a body declared over the route's limit is
answered 413 before any of it is sent, and a chunked one that grows over it is refused without
the server keeping it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.live_server import LiveServer, live_server

LIMIT = 1024 * 1024  # limits.max_body_bytes by default


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("limits")) as srv:
        yield srv


def test_a_declared_large_body_is_refused_before_it_is_sent(server: LiveServer) -> None:
    url = urlparse(server.url)
    head = (f"POST /jupyter-mlplat/api/jobs HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: token {server.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {60 * 1024 * 1024}\r\n\r\n")
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode())  # and not one byte of the 60 MB
        answer = sock.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "limits.max_body_bytes" in answer
    assert time.monotonic() - started < 10


def test_a_chunked_body_over_the_limit_is_refused(server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"notebook": "nb.ipynb", "parameters": {"x": "'
        for _ in range(3 * LIMIT // 65536):
            yield b"a" * 65536
        yield b'"}}'

    answer = requests.post(f"{server.url}/jupyter-mlplat/api/jobs", data=chunks(),
                           headers={**server.headers, "Content-Type": "application/json"},
                           timeout=60)
    assert answer.status_code == 413, answer.text
    assert "limits.max_body_bytes" in answer.json()["message"]


def test_a_body_within_the_limit_still_arrives_whole(server: LiveServer, tmp_path: Path) -> None:
    answer = requests.post(f"{server.url}/jupyter-mlplat/api/jobs",
                           json={"code": "print('hi')\n" + "#" * (LIMIT // 2)},
                           headers=server.headers, timeout=60)
    assert answer.status_code == 201, answer.text
    job = answer.json()
    requests.post(f"{server.url}/jupyter-mlplat/api/jobs/{job['id']}/cancel",
                  headers=server.headers, timeout=30)
