"""Secret values never leave through the API, the logs, the database or job outputs.

The platform is configured the way an administrator would: a registry docker-config file, an HDFS
delegation token in an environment variable, a Kubernetes token in a kubeconfig, and — when the
PostgreSQL binaries are here — a database URL with a password. The server then answers every read
route, a few error paths that touch the secret-carrying components (an unreachable token-auth
HDFS cluster, a Kubernetes target whose API server is down), and runs a local job that reads from
that HDFS cluster and fails. Afterwards the literal secret values (and the base64 form the docker
config holds) must appear in none of: the HTTP responses, the server log at DEBUG, any table of the
database, the config file handed to kernels, or any file the job wrote.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import MetaData, create_engine, select

from jupyter_mlplat.devcluster.base import free_port

from .live_server import LiveServer, live_server

TOKEN_ENV = "MLPLAT_TEST_HDFS_TOKEN"
FINAL = {"succeeded", "failed", "cancelled"}


class Secrets:
    def __init__(self) -> None:
        self.registry_password = "regpw-" + secrets.token_hex(12)
        self.hdfs_token = "hdfstok-" + secrets.token_hex(16)
        self.kube_token = "kubetok-" + secrets.token_hex(16)
        self.db_password = ""  # set when PostgreSQL runs

    def values(self) -> dict[str, str]:
        found = {
            "registry password": self.registry_password,
            "registry auth (base64)": base64.b64encode(
                f"bot:{self.registry_password}".encode()).decode(),
            "HDFS token": self.hdfs_token,
            "Kubernetes token": self.kube_token,
        }
        if self.db_password:
            found["database password"] = self.db_password
        return found

    def leaks(self, text: str) -> list[str]:
        return [name for name, value in self.values().items() if value in text]


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, password): PostgreSQL from the devcluster if it can run here, else SQLite."""
    from jupyter_mlplat.devcluster.base import ComponentError
    from jupyter_mlplat.devcluster.postgres import Postgres

    server = Postgres(tmp_path / "postgres")
    try:
        server.start()
    except ComponentError:
        yield f"sqlite:///{tmp_path / 'mlplat.db'}", ""
        return
    try:
        yield server.url, server.password
    finally:
        server.stop()


def write_platform(tmp: Path, s: Secrets, url: str) -> Path:
    docker_config = tmp / "secrets" / "docker-config.json"
    docker_config.parent.mkdir(parents=True)
    registry = f"127.0.0.1:{free_port()}"
    auth = base64.b64encode(f"bot:{s.registry_password}".encode()).decode()
    docker_config.write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    kubeconfig = tmp / "secrets" / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {
            "server": f"https://127.0.0.1:{free_port()}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "bot", "user": {"token": s.kube_token}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "bot"}}],
    }))
    config = {
        "database_url": url,
        "storage": [
            {"name": "local", "kind": "local"},
            {"name": "secure", "kind": "webhdfs", "auth": "token", "token": {"env": TOKEN_ENV},
             "namenodes": [f"http://127.0.0.1:{free_port()}"], "timeout": 2},
        ],
        "registry": {"push": registry, "insecure": True,
                     "credentials": {"file": str(docker_config)}},
        "runtimes": [{"name": "default", "image": "runtimes/python:3"}],
        "targets": [{"name": "local", "kind": "local"},
                    {"name": "kube", "kind": "kubernetes", "kubeconfig": str(kubeconfig)}],
    }
    path = tmp / "platform.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def exercise(server: LiveServer) -> list[tuple[str, requests.Response]]:
    """Read every route, hit the error paths, run a job that fails on the secured cluster."""
    api = f"{server.url}/jupyter-mlplat/api"
    h = server.headers
    got: list[tuple[str, requests.Response]] = []

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        resp = requests.request(method, api + path, headers=h, timeout=60, **kwargs)
        got.append((f"{method} {path}", resp))
        return resp

    for path in ("/config", "/storage", "/storage/secure/contents/", "/storage/secure/contents/x",
                 "/storage/local/contents/", "/jobs", "/jobs/nope", "/tensorboards", "/runs",
                 "/schedules", "/models"):
        call("GET", path)
    call("PUT", "/storage/secure/contents/new.txt",
         json={"type": "file", "format": "text", "content": "x"})
    call("POST", "/jobs", json={"code": "print(1)", "target": "kube"})
    call("POST", "/jobs", data="{not json")
    job = call("POST", "/jobs", json={
        "code": "import fsspec\nprint('reading')\n"
                "print(fsspec.open('hdfs://secure/data.csv').open().read())",
        "target": "local"}).json()
    assert "id" in job, job
    deadline = time.monotonic() + 180
    while call("GET", f"/jobs/{job['id']}").json()["state"] not in FINAL:
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.5)
    call("GET", f"/jobs/{job['id']}/logs")
    call("POST", f"/jobs/{job['id']}/rerun", json={})
    call("GET", "/jobs")
    return got


def dump_database(url: str) -> str:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    parts: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            parts.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    engine.dispose()
    return "\n".join(parts)


def readable_files(*roots: Path) -> Iterator[tuple[Path, str]]:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix not in (".db", ".db-wal", ".db-shm"):
                yield path, path.read_text(errors="replace")


def test_no_secret_in_responses_logs_database_or_outputs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        database_url: tuple[str, str]) -> None:
    s = Secrets()
    url, s.db_password = database_url
    monkeypatch.setenv(TOKEN_ENV, s.hdfs_token)
    platform = write_platform(tmp_path, s, url)
    server_dir = tmp_path / "server"
    with live_server(server_dir, f"--MLPlatApp.config_file={platform}",
                     "--ServerApp.log_level=DEBUG") as server:
        responses = exercise(server)
        # the config file the server hands to kernels, while it still exists
        runtime_files = list(readable_files(server_dir / "runtime"))
        assert any(p.name.startswith("mlplat-config-") for p, _ in runtime_files)
        leaks = [f"{what} -> {resp.status_code}: {', '.join(found)}" for what, resp in responses
                 if (found := s.leaks(resp.text + str(resp.headers)))]
        statuses = {what: resp.status_code for what, resp in responses}
    assert statuses["GET /config"] == 200 and statuses["GET /storage"] == 200, statuses
    assert statuses["GET /storage/secure/contents/"] >= 400, statuses
    for path, text in [*runtime_files, *readable_files(server.root, server.data_dir)]:
        found = s.leaks(text)
        if path.name.startswith("mlplat-config-") and found == ["database password"]:
            # Kernels and runners record jobs, so they get the database URL — owner-only.
            assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"
            continue
        leaks += [f"file {path.name}: {name}" for name in found]
    log = (server_dir / "server.log").read_text(errors="replace")
    leaks += [f"server log: {name}" for name in s.leaks(log)]
    leaks += [f"database: {name}" for name in s.leaks(dump_database(url))]
    assert not leaks, "secret values leaked:\n" + "\n".join(leaks)
