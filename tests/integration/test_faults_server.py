"""Faults of the server and of its database, with the real components.

1. The Jupyter server is killed with SIGKILL while local and Kubernetes jobs run and schedules
   are due; the jobs end while it is down and due times pass. After a restart on the same data
   every job shows how it really ended (with its whole log), none is left running, and each
   schedule fired once per due time as its misfire and concurrency policies say — on SQLite and
   on PostgreSQL.
2. PostgreSQL is restarted under a running server: while it is down the API answers 503 with a
   message, and afterwards the API, the reconcile loop and the scheduler work again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from kubernetes import client
from sqlalchemy import update

from jupyter_mlplat.db import Database, JobRow
from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.postgres import Postgres
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.jobs.schemas import JobSpec
from jupyter_mlplat.jobs.store import JobStore
from jupyter_mlplat.runs.cron import parse
from tests.helpers import wait_for, write_notebook
from tests.live_server import LiveServer, live_server

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry,
              pytest.mark.postgres]

UTC = dt.timezone.utc
NS = "ml-alice"
EVERY_3S = "*/3 * * * * *"
EVERY_5S = "*/5 * * * * *"  # every firing of this one runs a notebook: fewer of them
GRACE = 15.0  # misfire grace of the servers under test (seconds): a loaded tick stays within
ACTIVE = {"queued", "building", "pushing", "submitted", "pending", "running"}
SCHEDULER_ARGS = ("--MLPlatApp.scheduler_interval=0.5", f"--MLPlatApp.misfire_grace={GRACE:g}",
                  "--MLPlatApp.schedule_lease=3", "--MLPlatApp.reconcile_interval=1")


# -- helpers -----------------------------------------------------------------------------------
def api(srv: LiveServer, method: str, path: str, expect: int | None = None, **kw: Any) -> Any:
    resp = requests.request(method, f"{srv.url}/jupyter-mlplat/api/{path}", headers=srv.headers,
                            timeout=60, **kw)
    if expect is not None:
        assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text}"
    else:
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def job(srv: LiveServer, job_id: str) -> dict[str, Any]:
    return api(srv, "GET", f"jobs/{job_id}")  # type: ignore[no-any-return]


def final_job(srv: LiveServer, job_id: str, timeout: float = 120) -> dict[str, Any]:
    """The job once it has ended; on a timeout the failure shows it and the server's log."""
    try:
        return wait_for(lambda: (x := job(srv, job_id))["state"] not in ACTIVE and x,  # type: ignore[no-any-return]
                        timeout=timeout, what=f"job {job_id} to end")
    except AssertionError:
        raise AssertionError(f"job {job_id} did not end: {story(srv, job_id)}") from None


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({exc.strerror})"


def story(srv: LiveServer, job_id: str) -> str:
    """What a stuck job leaves to read: the job, its folder, the warm runners and the server."""
    parts = [f"job: {job(srv, job_id)}"]
    job_dir = srv.data_dir / "jobs" / job_id
    files = sorted(job_dir.iterdir()) if job_dir.is_dir() else []
    parts.append(f"{job_dir.name}/: " + ", ".join(f"{f.name} ({f.stat().st_size} B)"
                                                    for f in files))
    parts += [f"--- {f.name}:\n{tail(f)}" for f in files if f.suffix == ".log"]
    for f in sorted((srv.data_dir / "warm-runners").glob("*.log")):
        parts.append(f"--- warm-runners/{f.name}:\n{tail(f, 20)}")
    with contextlib.suppress(psutil.Error):
        procs = psutil.Process(srv.proc.pid).children(recursive=True)
        parts.append("server's processes:\n" + "\n".join(
            f"  {p.pid} {p.status()} {' '.join(p.cmdline())[:160]}" for p in procs))
    parts.append(f"--- server log:\n{tail(srv.log_path, 60)}")
    return "\n".join(parts)


def full_log(srv: LiveServer, job_id: str) -> tuple[str, bool]:
    text, offset, complete = "", 0, False
    for _ in range(1000):
        chunk = api(srv, "GET", f"jobs/{job_id}/logs", params={"offset": offset})
        text += chunk["text"]
        complete = chunk["complete"]
        if chunk["offset"] == offset:
            break
        offset = chunk["offset"]
    return text, complete


def runs_of(srv: LiveServer, sid: str) -> list[dict[str, Any]]:
    page = api(srv, "GET", "runs", params={"schedule_id": sid, "limit": 500})
    return sorted(page["runs"], key=lambda r: r["due_time"])


def due(run: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(run["due_time"])


def ended(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``runs`` if every one of them has ended, else an empty list."""
    return runs if all(r["state"] not in ACTIVE | {"claimed"} for r in runs) else []


def summary(runs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["due_time"], r["state"], notes(r)) for r in runs]


def notes(run: dict[str, Any]) -> str:
    return " ".join(run["warnings"]) + " " + (run["error"] or "")


def check_once_per_due_time(runs: list[dict[str, Any]], cron_expr: str) -> list[dict[str, Any]]:
    """No due time fired twice, none lost except inside a fold; the folded runs."""
    cron = parse(cron_expr)
    times = [due(r) for r in runs]
    assert len(set(times)) == len(times), f"a due time fired twice: {times}"
    folded = []
    for prev, run in itertools.pairwise(runs):
        if due(run) != cron.next_times(due(prev), 1)[0]:
            assert "misfire policy" in notes(run), f"a due time after {due(prev)} was lost: {run}"
            folded.append(run)
    return folded


def write_notebooks(root: Path) -> None:
    write_notebook(root / "sleepy.ipynb", 'seconds = 1\ntag = "x"',
                   'import time\nprint("start", tag, flush=True)\ntime.sleep(seconds)\n'
                   'print("done", tag, flush=True)')
    write_notebook(root / "boom.ipynb", "seconds = 1",
                   'import time\nprint("about to fail", flush=True)\ntime.sleep(seconds)\n'
                   'raise RuntimeError("boom on purpose")')
    write_notebook(root / "tick.ipynb", "n = 0", 'print("tick", n)')
    write_notebook(root / "gated.ipynb", 'gate = ""\ntag = "x"\nfail = False',
                   'import os, time\nprint("waiting", tag, flush=True)\n'
                   'deadline = time.monotonic() + 600\n'
                   'while not os.path.exists(gate) and time.monotonic() < deadline:\n'
                   '    time.sleep(0.2)\n'
                   'print("through", tag, flush=True)\n'
                   'if fail:\n    raise RuntimeError("boom on purpose")')


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def runner_pid(db: Database, job_id: str) -> int:
    with db.session() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        return int(row.backend_ref["pid"])


def stored_state(db: Database, job_id: str) -> str:
    with db.session() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        return row.state


def orphaned_submit(db: Database) -> str:
    """What a server killed between recording a local job and starting its runner leaves."""
    store = JobStore(db)
    orphan = store.create(spec=JobSpec(notebook="tick.ipynb", target="local", runtime="python"),
                          user="alice", name="orphan", outputs={})
    with db.session() as s:
        s.execute(update(JobRow).where(JobRow.id == orphan.id).values(
            created=dt.datetime.now(UTC) - dt.timedelta(minutes=5)))
    return orphan.id


# -- fixtures ----------------------------------------------------------------------------------
def fresh_database(pg: Component) -> Iterator[str]:
    """A database of its own in the shared PostgreSQL: other tests' schedules stay out."""
    import psycopg2

    info = pg.info()
    name = "faults_" + secrets.token_hex(4)
    conn = psycopg2.connect(host=info["host"], port=info["port"], user=info["superuser"],
                            password=info["superuser_password"], dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} OWNER {info['user']}")
        yield info["url"].rsplit("/", 1)[0] + "/" + name
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server' / 'data' / 'mlplat.db'}"
        return
    yield from fresh_database(request.getfixturevalue("postgres"))


def platform_file(tmp: Path, kube: Component, registry: Component, url: str) -> Path:
    base = {**devkube.platform_config(kube.info())["targets"][0]}
    data = {
        "user": kube.info()["user"], "database_url": url,
        "limits": {"min_schedule_interval": 0},  # seconds-level crons
        "targets": [
            {"name": "local", "kind": "local"},
            {**base, "name": "kube-30s",
             "pod_annotations": {"mlplat.test/run-duration": "30s"}},
            {**base, "name": "kube-fail-30s",
             "pod_annotations": {"mlplat.test/fail": "true", "mlplat.test/run-duration": "30s"}},
        ],
        **devregistry.platform_config(registry.info()),
    }
    path = tmp / "platform.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))  # YAML is a superset of JSON
    return path


def kube_pods(admin: client.ApiClient, job_id: str) -> list[Any]:
    core: Any = client.CoreV1Api(admin)
    return list(core.list_namespaced_pod(NS, label_selector=f"{mf.LABEL_JOB}={job_id}").items)


def first_pod(srv: LiveServer, admin: client.ApiClient, job_id: str) -> Any:
    """The job's first pod; if none comes, the failure shows the job and its Kubernetes Job."""
    try:
        return wait_for(lambda: kube_pods(admin, job_id), timeout=180, what="a pod")[0]
    except AssertionError:
        batch: Any = client.BatchV1Api(admin)
        objects = batch.list_namespaced_job(NS, label_selector=f"{mf.LABEL_JOB}={job_id}")
        raise AssertionError(f"no pod for job {job_id}: {job(srv, job_id)}\n"
                             f"Kubernetes: {[o.status for o in objects.items]}") from None


# -- 1. SIGKILL of the Jupyter server ----------------------------------------------------------
def test_server_killed_while_jobs_run_and_schedules_are_due(
        database_url: str, tmp_path: Path, kube: Component, registry: Component,
        admin: client.ApiClient) -> None:
    cfg = platform_file(tmp_path, kube, registry, database_url)
    db = Database(database_url)
    try:
        with live_server(tmp_path / "server", f"--MLPlatApp.config_file={cfg}",
                         *SCHEDULER_ARGS) as srv:
            write_notebooks(srv.root)
            _kill_and_restart(srv, db, admin, kube)
    finally:
        db.dispose()


def _kill_and_restart(srv: LiveServer, db: Database, admin: client.ApiClient,
                      kube: Component) -> None:
    def submit(target: str, notebook: str, **parameters: Any) -> str:
        body = {"notebook": notebook, "target": target, "parameters": parameters,
                "runtime": "python"}
        return str(api(srv, "POST", "jobs", json=body, expect=201)["id"])

    # local jobs that end when the gate opens (one succeeds, one fails), one cancelled
    gate = srv.root / "gate"
    local_ok = submit("local", "gated.ipynb", gate=str(gate), tag="local")
    local_bad = submit("local", "gated.ipynb", gate=str(gate), tag="bad", fail=True)
    doomed = submit("local", "sleepy.ipynb", seconds=600, tag="doomed")
    wait_for(lambda: job(srv, doomed)["state"] == "running", timeout=90, what="doomed running")
    doomed_pid = runner_pid(db, doomed)
    assert api(srv, "POST", f"jobs/{doomed}/cancel")["state"] == "cancelled"

    # schedules due every few seconds: one catches up once after downtime, the other skips
    # while a long run of its own is active
    catch_up = api(srv, "POST", "schedules", expect=201, json={
        "notebook": "tick.ipynb", "cron": EVERY_5S, "parameters": {"n": 1}, "name": "catch-up",
        "runtime": "python", "misfire_policy": "run_once", "concurrency_policy": "allow"})["id"]
    forbid = api(srv, "POST", "schedules", expect=201, json={
        "notebook": "sleepy.ipynb", "cron": EVERY_3S, "name": "forbid",
        "parameters": {"seconds": 600, "tag": "long"}, "runtime": "python",
        "misfire_policy": "skip", "concurrency_policy": "forbid"})["id"]

    wait_for(lambda: all(job(srv, j)["state"] == "running" for j in (local_ok, local_bad)),
             timeout=90, what="the local jobs to run")
    wait_for(lambda: len([r for r in runs_of(srv, forbid)
                          if "concurrency policy forbid" in notes(r)]) >= 1
             and len(runs_of(srv, catch_up)) >= 2, timeout=90, what="firings before the kill")
    long_run = runs_of(srv, forbid)[0]
    assert long_run["job_id"], long_run

    # Kubernetes jobs last: their pods end 30 s after they run, which is after the kill
    kube_ok = submit("kube-30s", "sleepy.ipynb", tag="kube")
    kube_bad = submit("kube-fail-30s", "boom.ipynb")
    for job_id in (kube_ok, kube_bad):
        pod = first_pod(srv, admin, job_id)
        devkube.write_pod_log(kube.info(), NS, pod.metadata.name,
                              [f"pod of {job_id} line {i}" for i in range(50)])
    runners = {j: runner_pid(db, j) for j in (local_ok, local_bad, long_run["job_id"])}
    states_before = {j: job(srv, j)["state"] for j in (kube_ok, kube_bad, local_ok, local_bad)}
    assert all(s in ACTIVE for s in states_before.values()), states_before

    # -- SIGKILL: the server goes, the runners stay -------------------------------------------
    srv.kill()
    killed_at = dt.datetime.now(UTC)
    assert all(pid_alive(p) for p in runners.values()), "a local runner died with the server"
    assert not pid_alive(doomed_pid), "the cancelled job's runner still runs"
    gate.touch()
    # while it is down: the local jobs end (their runners record it), the pods end, and more
    # than the misfire grace plus a few due times pass
    wait_for(lambda: stored_state(db, local_ok) == "succeeded"
             and stored_state(db, local_bad) == "failed", timeout=120,
             what="the local jobs to end while the server is down")
    wait_for(lambda: all((p.status.phase in ("Succeeded", "Failed"))
                         for j in (kube_ok, kube_bad) for p in kube_pods(admin, j)),
             timeout=120, what="the pods to end while the server is down")
    remaining = GRACE + 9 - (dt.datetime.now(UTC) - killed_at).total_seconds()
    if remaining > 0:
        time.sleep(remaining)
    for j in (kube_ok, kube_bad):  # nobody watched: the store still says what it last saw
        assert stored_state(db, j) in ACTIVE
    orphan = orphaned_submit(db)
    srv.restart()
    restarted_at = dt.datetime.now(UTC)

    # -- every job ends in its true state, with its whole log ----------------------------------
    final = {j: final_job(srv, j) for j in (kube_ok, kube_bad, local_ok, local_bad, doomed,
                                            orphan)}
    assert final[orphan]["state"] == "failed", final[orphan]
    assert final[orphan]["error"] == "runner never started", final[orphan]
    del final[orphan]
    assert final[local_ok]["state"] == "succeeded", final[local_ok]
    assert final[local_bad]["state"] == "failed", final[local_bad]
    assert "boom on purpose" in (final[local_bad]["error"] or ""), final[local_bad]
    assert final[doomed]["state"] == "cancelled", final[doomed]
    assert final[kube_ok]["state"] == "succeeded", final[kube_ok]
    assert final[kube_bad]["state"] == "failed", final[kube_bad]
    for j in final:
        states = [e["state"] for e in final[j]["events"] if e["state"]]
        assert states.count(final[j]["state"]) == 1, (j, states)
    text, complete = full_log(srv, local_ok)
    assert complete and "waiting local" in text and "through local" in text, text
    text, complete = full_log(srv, local_bad)
    assert complete and "through bad" in text and "boom on purpose" in text, text
    for j in (kube_ok, kube_bad):
        text, complete = full_log(srv, j)
        assert complete and f"pod of {j} line 0" in text and f"pod of {j} line 49" in text, text

    # -- the schedules: once per due time, the downtime folded by the misfire policy ----------
    # Before the schedules are paused: a firing of the forbid schedule after the restart that
    # meets its policy (on a loaded machine the restarted server's first tick may come late and
    # fold the first due times into a misfire skip instead; a later one then meets the policy).
    wait_for(lambda: any(due(r) > restarted_at + dt.timedelta(seconds=3)
                         for r in runs_of(srv, catch_up))
             and any("concurrency policy forbid" in notes(r) for r in runs_of(srv, forbid)
                     if due(r) > restarted_at),
             timeout=90, what="on-time firings after the restart, and one of the forbid "
                              "schedule skipped by its policy")
    for sid in (catch_up, forbid):
        api(srv, "PATCH", f"schedules/{sid}", json={"paused": True})
    down = (killed_at, restarted_at)

    def on_time_after_restart(runs: list[dict[str, Any]]) -> None:
        """Due times within the grace of the restart fire one by one, however slow the first
        tick of the restarted server is (it ticks within a second of answering)."""
        late = [r for r in runs if down[1] - dt.timedelta(seconds=GRACE - 2) <= due(r) <= down[1]
                and "misfire policy" in notes(r)]
        assert not late, summary(runs)

    def missed_while_down(run: dict[str, Any]) -> bool:
        """Due while down and older than the grace when the server was back (plus slack)."""
        return down[0] < due(run) < down[1] - dt.timedelta(seconds=GRACE + 2)

    runs = runs_of(srv, catch_up)
    print(*summary(runs), sep="\n")
    folded = check_once_per_due_time(runs, EVERY_5S)
    downtime = [r for r in folded if "run_once" in notes(r)
                and due(r) > down[0] - dt.timedelta(seconds=GRACE)]
    assert len(downtime) >= 1, runs
    assert downtime[0]["job_id"], downtime[0]  # run_once: the missed times fired one run
    assert not [r for r in runs if r["state"] == "skipped"], runs  # allow: every firing runs
    # the due times missed while down are folded, never fired one by one
    assert len([r for r in runs if missed_while_down(r)]) <= 1, summary(runs)
    on_time_after_restart(runs)
    ticks = [r for r in runs if r["job_id"]]
    wait_for(lambda: all(api(srv, "GET", f"runs/{r['id']}")["state"] == "succeeded"
                         for r in ticks), timeout=180, what="every firing's job to succeed")

    runs = runs_of(srv, forbid)
    print(f"killed {killed_at}, restarted {restarted_at}", *summary(runs), sep="\n")
    folded = check_once_per_due_time(runs, EVERY_3S)
    assert [r for r in folded if "misfire policy skip" in notes(r)], runs
    assert len([r for r in runs if missed_while_down(r)]) <= 1, summary(runs)
    on_time_after_restart(runs)
    assert runs[0]["id"] == long_run["id"]
    # the long run's runner survived the kill: after the restart it is still active, so the
    # forbid policy still holds and no firing started a second job
    assert api(srv, "GET", f"runs/{long_run['id']}")["state"] == "running"
    assert pid_alive(runners[long_run["job_id"]])
    assert [r["id"] for r in runs if r["job_id"]] == [long_run["id"]], runs
    assert all(r["state"] == "skipped" for r in runs[1:]), runs
    # and a firing after the restart met the forbid policy (waited for above)
    assert any("concurrency policy forbid" in notes(r) for r in runs if due(r) > restarted_at)

    # nothing else is left running: only the schedule's long run, which truly still runs
    # (the catch-up schedule keeps firing every 5 s: stop it and let its last firings end)
    api(srv, "DELETE", f"schedules/{catch_up}", expect=204)
    wait_for(lambda: all(api(srv, "GET", f"jobs/{r['job_id']}")["state"] not in ACTIVE
                         for r in runs_of(srv, catch_up) if r["job_id"]),
             timeout=120, what="the catch-up schedule's last firings to end")
    active = api(srv, "GET", "jobs", params={"state": ",".join(sorted(ACTIVE)), "limit": 500})
    assert [j["id"] for j in active["jobs"]] == [long_run["job_id"]], active
    api(srv, "POST", f"jobs/{long_run['job_id']}/cancel")
    api(srv, "DELETE", f"schedules/{forbid}", expect=204)
    log = srv.log_path.read_text(errors="replace")
    assert "already has a run due" not in log  # the claims did it, not the unique backstop


# -- 2. PostgreSQL restarted under the server --------------------------------------------------
@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Postgres]:
    """A PostgreSQL of this test alone: stopping it disturbs no other test."""
    pg = Postgres(tmp_path / "pg")
    pg.build()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def test_server_survives_a_postgres_restart(own_postgres: Postgres, tmp_path: Path) -> None:
    url = own_postgres.url
    with live_server(tmp_path / "server", f"--MLPlatApp.database_url={url}",
                     "--MLPlatApp.limits={'min_schedule_interval': 0}",  # seconds-level crons
                     *SCHEDULER_ARGS) as srv:
        write_notebooks(srv.root)
        sid = api(srv, "POST", "schedules", expect=201, json={
            "notebook": "tick.ipynb", "cron": "*/5 * * * * *", "parameters": {"n": 2},
            "misfire_policy": "run_once", "concurrency_policy": "forbid"})["id"]
        before = api(srv, "POST", "jobs", expect=201,
                     json={"notebook": "tick.ipynb", "parameters": {"n": 3}})["id"]
        assert final_job(srv, before, timeout=90)["state"] == "succeeded", story(srv, before)
        # a local job whose notebook ends while the database is down
        across = api(srv, "POST", "jobs", expect=201, json={
            "notebook": "sleepy.ipynb", "parameters": {"seconds": 3, "tag": "across"}})["id"]
        wait_for(lambda: job(srv, across)["state"] == "running", timeout=90,
                 what="the job to run before the outage")
        db = Database(url)
        try:
            across_pid = runner_pid(db, across)
        finally:
            db.dispose()
        across_log = srv.data_dir / "jobs" / across / "job.log"

        own_postgres.stop_server()
        down_at = dt.datetime.now(UTC)
        for method, path, kw in (("GET", "jobs", {}), ("GET", f"jobs/{before}", {}),
                                 ("GET", "runs", {}), ("GET", f"schedules/{sid}", {}),
                                 ("POST", "jobs", {"json": {"notebook": "tick.ipynb"}})):
            resp = requests.request(method, f"{srv.url}/jupyter-mlplat/api/{path}",
                                    headers=srv.headers, timeout=60, **kw)
            assert resp.status_code == 503, (method, path, resp.status_code, resp.text)
            body = resp.json()
            assert "database" in body["message"] and "retry" in body["message"], body
            assert body["reason"] == "database unavailable", body
            assert "Traceback" not in resp.text and "psycopg2" not in resp.text, resp.text
        wait_for(lambda: "done across" in across_log.read_text(), timeout=90,
                 what="the notebook to end during the outage")
        time.sleep(3)  # reconcile loop, scheduler ticks and the runner meet the outage a while
        assert srv.proc.poll() is None
        assert pid_alive(across_pid), "the runner gave up recording how its notebook ended"

        own_postgres.start_server()
        assert own_postgres.url == url  # same address and credentials
        up_at = dt.datetime.now(UTC)
        started = time.monotonic()
        # the first request after the restart is answered: stale pooled connections are
        # replaced by the server itself
        page = api(srv, "GET", "jobs", expect=200)
        first_answer = time.monotonic() - started
        assert before in [j["id"] for j in page["jobs"]]
        ended_across = wait_for(lambda: (j := job(srv, across))["state"] not in ACTIVE and j,
                                timeout=60, what="the job that ended during the outage")
        assert ended_across["state"] == "succeeded", ended_across  # as it really ended
        after = api(srv, "POST", "jobs", expect=201,
                    json={"notebook": "tick.ipynb", "parameters": {"n": 4}})["id"]
        done = wait_for(lambda: (j := job(srv, after))["state"] not in ACTIVE and j,
                        timeout=120, what="a job submitted after the restart")
        assert done["state"] == "succeeded", done
        text, complete = full_log(srv, after)
        assert complete and "tick 4" in text, text
        fired = wait_for(lambda: [r for r in runs_of(srv, sid) if due(r) > up_at
                                  and r["state"] == "succeeded"],
                         timeout=120, what="a firing after the restart to succeed")
        api(srv, "PATCH", f"schedules/{sid}", json={"paused": True})
        runs = wait_for(lambda: ended(runs_of(srv, sid)), timeout=120,
                        what="the schedule's runs to end")
        check_once_per_due_time(runs, "*/5 * * * * *")
        print(*summary(runs), sep="\n")
        assert fired and all(r["state"] in ("succeeded", "skipped") for r in runs), \
            summary(runs)
        print(f"outage {(up_at - down_at).total_seconds():.1f} s, first answer after the "
              f"restart in {first_answer * 1000:.0f} ms")
        log = srv.log_path.read_text(errors="replace")
        assert "503 GET /jupyter-mlplat/api/jobs" in log or "-> 503" in log
