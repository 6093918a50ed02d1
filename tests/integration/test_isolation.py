"""Two users, two Jupyter servers, one PostgreSQL, one devcluster: neither reaches the other.

alice's and bob's servers are configured as a multi-user deployment would configure them: the
same database, each user's own Kubernetes credentials (RBAC: ``ml-alice`` / ``ml-bob`` only),
HDFS ``prod-a`` (permissions on) through the superuser's proxy-user grant acting as the user,
and the ``private`` model name policy. For jobs (local and Kubernetes), runs, schedules, models
and TensorBoards, bob's server neither lists alice's objects nor answers for them by id: every
read or change answers 404 (as for an id that does not exist, so nothing leaks) and changes
nothing. What the user's credentials do not allow (``ml-alice`` for bob, bob's private HDFS
folder for alice) is refused by Kubernetes or HDFS themselves: 403 with their message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import yaml
from kubernetes import client, config

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.hdfs import SUPERUSER, HdfsClusters
from jupyter_mlplat.errors import Forbidden
from jupyter_mlplat.models.schemas import DeployRequest, PublishRequest, Stage
from jupyter_mlplat.platform import Platform
from tests.helpers import wait_for, write_notebook, write_sleeping_notebook
from tests.live_server import LiveServer, live_server

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry,
              pytest.mark.hdfs, pytest.mark.postgres]

API = "jupyter-mlplat/api"
#: KWOK keeps these pods running for a while: jobs that are still active when bob pokes them.
SLOW_PODS = {"mlplat.test/run-duration": "120s"}
MANAGED = "app.kubernetes.io/managed-by=jupyter-mlplat"


@dataclass
class Pair:
    alice: LiveServer
    bob: LiveServer
    admin: client.ApiClient
    hdfs: HdfsClusters
    store: str  # the model store folder on prod-a

    def server(self, user: str) -> LiveServer:
        return self.alice if user == "alice" else self.bob


def call(srv: LiveServer, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    resp = requests.request(method, f"{srv.url}/{API}/{path}", headers=srv.headers,
                            timeout=60, **kw)
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    return resp.status_code, body


def ok(srv: LiveServer, method: str, path: str, **kw: Any) -> Any:
    status, body = call(srv, method, path, **kw)
    assert status < 300, (method, path, status, body)
    return body


def assert_404(srv: LiveServer, method: str, path: str, **kw: Any) -> None:
    status, body = call(srv, method, path, **kw)
    assert status == 404, (method, path, status, body)
    assert body["message"], body  # says what is missing, like an id that never existed


def platform_config(user: str, *, hdfs: HdfsClusters, kube: Component, registry: Component,
                    database_url: str, store: str) -> dict[str, Any]:
    info = kube.info()
    kube_target = {"kind": "kubernetes", "kubeconfig": info["users"][user]["kubeconfig"],
                   "namespace": devkube.NAMESPACE_TEMPLATE, "pod_annotations": SLOW_PODS}
    targets: list[dict[str, Any]] = [
        {"name": "local", "kind": "local"},
        {"name": "kube", **kube_target},
    ]
    if user == "alice":
        # A target bob's server does not know: his server must leave such jobs alone.
        targets.append({"name": "alice-local", "kind": "local"})
    else:
        # bob's own credentials, pointed at alice's namespace.
        targets.append({"name": "kube-alice", **kube_target, "namespace": "ml-alice"})
    prod_a = hdfs.info()["clusters"]["prod-a"]
    return {
        "database_url": database_url,
        "storage": [{"name": "prod-a", "kind": "webhdfs", "namenodes": prod_a["webhdfs"],
                     "user": SUPERUSER, "proxy_user": True}],
        **devregistry.platform_config(registry.info()),
        "targets": targets,
        "model_store": f"hdfs://prod-a{store}",
        "model_name_policy": "private",
        "limits": {"min_schedule_interval": 0},  # seconds-level crons
    }


@pytest.fixture(scope="module")
def pair(hdfs: HdfsClusters, kube: Component, registry: Component, postgres: Component,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("isolation")
    store = f"/models-{os.urandom(4).hex()}"
    # The shared model store, made by the administrator: every user may create a folder there.
    hdfs.client("prod-a").makedirs(store, permission="1777")
    admin = config.new_client_from_config(config_file=kube.info()["kubeconfigs"]["admin"])
    with ExitStack() as stack:
        servers = {}
        for user in ("alice", "bob"):  # one after the other: the first migrates the database
            cfg = tmp / f"{user}.yaml"
            cfg.write_text(yaml.safe_dump(platform_config(
                user, hdfs=hdfs, kube=kube, registry=registry,
                database_url=postgres.info()["url"], store=store)))
            srv = stack.enter_context(live_server(
                tmp / user, f"--MLPlatApp.config_file={cfg}", "--MLPlatApp.reconcile_interval=0.5",
                "--MLPlatApp.scheduler_interval=0.3", "--MLPlatApp.misfire_grace=30",
                user=user))
            write_notebook(srv.root / "train.ipynb", "seconds = 0",
                           "import time\ntime.sleep(seconds)\nprint('trained', seconds)")
            servers[user] = srv
        write_sleeping_notebook(servers["alice"].root / "slow.ipynb", seconds=300)
        write_notebook(servers["alice"].root / "alice_only.ipynb", "n = 0", "print('tick', n)")
        try:
            yield Pair(servers["alice"], servers["bob"], admin, hdfs, store)
        finally:
            admin.close()


def job_state(srv: LiveServer, job_id: str) -> str:
    return str(ok(srv, "GET", f"jobs/{job_id}")["state"])


def listed_job_ids(srv: LiveServer) -> set[str]:
    return {j["id"] for j in ok(srv, "GET", "jobs", params={"limit": 500})["jobs"]}


def managed_objects(admin: client.ApiClient, namespace: str) -> set[str]:
    batch, apps, core = client.BatchV1Api(admin), client.AppsV1Api(admin), client.CoreV1Api(admin)
    return ({f"job/{o.metadata.name}" for o in batch.list_namespaced_job(
        namespace, label_selector=MANAGED).items}
        | {f"cronjob/{o.metadata.name}" for o in batch.list_namespaced_cron_job(namespace).items}
        | {f"deployment/{o.metadata.name}" for o in apps.list_namespaced_deployment(
            namespace, label_selector=MANAGED).items}
        | {f"service/{o.metadata.name}" for o in core.list_namespaced_service(
            namespace, label_selector=MANAGED).items})


def bob_cannot_touch_job(pair: Pair, job: dict[str, Any]) -> None:
    """Every per-job route of bob's server answers 404 for alice's job, and nothing changes."""
    alice, bob = pair.alice, pair.bob
    before = ok(alice, "GET", f"jobs/{job['id']}")
    total = ok(alice, "GET", "jobs")["total"]
    assert job["id"] not in listed_job_ids(bob)
    status, err = call(bob, "GET", "jobs", params={"user": "alice"})
    assert status == 403 and "only your own jobs" in err["message"], err
    assert_404(bob, "GET", f"jobs/{job['id']}")
    assert_404(bob, "GET", f"jobs/{job['id']}/logs")
    assert_404(bob, "POST", f"jobs/{job['id']}/cancel")
    assert_404(bob, "POST", f"jobs/{job['id']}/rerun", json={"parameters": {"seconds": 1}})
    assert_404(bob, "POST", "tensorboards", json={"job_id": job["id"]})
    assert_404(bob, "POST", "models", json={"path": "train.ipynb", "name": "stolen",
                                            "job_id": job["id"]})
    after = ok(alice, "GET", f"jobs/{job['id']}")
    assert after["state"] != "cancelled" and after["events"][:len(before["events"])] == \
        before["events"]
    assert not any("cancel" in e["message"] for e in after["events"]), after["events"]
    assert ok(alice, "GET", "jobs")["total"] == total  # no rerun was made for anyone
    assert not [j for j in ok(bob, "GET", "jobs", params={"limit": 500})["jobs"]
                if j["parent_id"] == job["id"]]


# -- jobs ---------------------------------------------------------------------------------------
def test_local_jobs_are_invisible_and_untouchable_for_the_other_user(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    quick = ok(alice, "POST", "jobs", json={"notebook": "train.ipynb"})
    slow = ok(alice, "POST", "jobs", json={"notebook": "slow.ipynb", "target": "alice-local"})
    mine = ok(bob, "POST", "jobs", json={"notebook": "train.ipynb"})
    assert (quick["user"], slow["user"], mine["user"]) == ("alice", "alice", "bob")

    wait_for(lambda: job_state(alice, slow["id"]) == "running", timeout=120,
             what="alice's slow job to run")
    wait_for(lambda: job_state(alice, quick["id"]) in ("succeeded", "failed"), timeout=180,
             what="alice's quick job to finish")
    assert job_state(alice, quick["id"]) == "succeeded"
    assert "trained" in ok(alice, "GET", f"jobs/{quick['id']}/logs")["text"]
    for job in (quick, slow):
        bob_cannot_touch_job(pair, job)

    # bob's server reconciles every 0.5 s; alice's running job, on a target bob's server does
    # not even know, must not be failed, cancelled or "lost" by it.
    time.sleep(4)
    assert job_state(alice, slow["id"]) == "running"
    assert mine["id"] not in listed_job_ids(alice)
    assert_404(alice, "GET", f"jobs/{mine['id']}")
    assert_404(alice, "GET", f"jobs/{mine['id']}/logs")

    assert ok(alice, "POST", f"jobs/{slow['id']}/cancel")["state"] == "cancelled"
    wait_for(lambda: job_state(bob, mine["id"]) in ("succeeded", "failed"), timeout=180,
             what="bob's job to finish")


def test_kubernetes_jobs_stay_in_their_users_namespace(pair: Pair) -> None:
    alice, bob, admin = pair.alice, pair.bob, pair.admin
    job = ok(alice, "POST", "jobs", json={"notebook": "train.ipynb", "target": "kube"})
    assert job["k8s_object"]["namespace"] == "ml-alice", job
    wait_for(lambda: job_state(alice, job["id"]) == "running", timeout=120,
             what="alice's kubernetes job to run")
    in_alice = managed_objects(admin, "ml-alice")
    assert f"job/{job['k8s_object']['name']}" in in_alice
    bob_cannot_touch_job(pair, job)
    assert client.BatchV1Api(admin).read_namespaced_job(job["k8s_object"]["name"], "ml-alice")

    # bob's own jobs land in ml-bob.
    mine = ok(bob, "POST", "jobs", json={"notebook": "train.ipynb", "target": "kube"})
    assert mine["k8s_object"]["namespace"] == "ml-bob", mine

    # bob's credentials pointed at ml-alice: Kubernetes refuses before anything is built.
    status, err = call(bob, "POST", "jobs", json={"notebook": "train.ipynb",
                                                  "target": "kube-alice"})
    assert status == 403, err
    assert 'User "bob" cannot create resource "jobs"' in err["message"], err
    assert 'namespace "ml-alice"' in err["message"], err
    # Refused as asked: no record stays in bob's history either.
    assert ok(bob, "GET", "jobs", params={"target": "kube-alice"})["jobs"] == []
    assert managed_objects(admin, "ml-alice") == in_alice

    for srv, jid in ((alice, job["id"]), (bob, mine["id"])):
        assert ok(srv, "POST", f"jobs/{jid}/cancel")["state"] == "cancelled"


# -- runs and schedules ---------------------------------------------------------------------------
def test_runs_are_private(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    run = ok(alice, "POST", "runs", json={"notebook": "train.ipynb",
                                          "parameters": {"seconds": 0}})
    other = ok(alice, "POST", "runs", json={"notebook": "train.ipynb",
                                            "parameters": {"seconds": 1}})
    assert run["user"] == "alice"
    runs_of_bob = {r["id"] for r in ok(bob, "GET", "runs", params={"limit": 500})["runs"]}
    assert not {run["id"], other["id"]} & runs_of_bob
    assert all(r["user"] == "bob" for r in ok(bob, "GET", "runs", params={
        "notebook": "train.ipynb", "limit": 500})["runs"])
    total = ok(alice, "GET", "runs")["total"]
    assert_404(bob, "GET", f"runs/{run['id']}")
    assert_404(bob, "POST", f"runs/{run['id']}/rerun", json={"parameters": {"seconds": 2}})
    assert_404(bob, "GET", "runs/diff", params={"a": run["id"], "b": other["id"]})
    assert_404(bob, "GET", f"jobs/{run['job_id']}")
    assert ok(alice, "GET", "runs")["total"] == total
    assert ok(alice, "GET", "runs/diff", params={"a": run["id"], "b": other["id"]})[
        "changed"] == {"seconds": {"a": 0, "b": 1}}
    for r in (run, other):
        wait_for(lambda r=r: ok(alice, "GET", f"runs/{r['id']}")["state"]
                 in ("succeeded", "failed"), timeout=180, what="alice's runs to finish")


def test_schedules_are_private_and_fired_by_their_users_server_only(pair: Pair) -> None:
    alice, bob, admin = pair.alice, pair.bob, pair.admin
    # A notebook only alice's root has: a firing by bob's server could not even find it.
    sched = ok(alice, "POST", "schedules", json={
        "notebook": "alice_only.ipynb", "cron": "*/2 * * * * *", "parameters": {"n": 1},
        "concurrency_policy": "forbid", "misfire_policy": "run_once"})
    sid = sched["id"]
    assert sid not in {s["id"] for s in ok(bob, "GET", "schedules",
                                           params={"limit": 500})["schedules"]}
    assert_404(bob, "GET", f"schedules/{sid}")
    assert_404(bob, "PATCH", f"schedules/{sid}", json={"paused": True, "cron": "0 0 1 1 *"})
    assert_404(bob, "DELETE", f"schedules/{sid}")
    after = ok(alice, "GET", f"schedules/{sid}")
    assert (after["paused"], after["cron"], after["updated"]) == \
        (False, sched["cron"], sched["updated"])
    assert ok(bob, "GET", "runs", params={"schedule_id": sid})["runs"] == []

    def runs() -> list[dict[str, Any]]:
        return ok(alice, "GET", "runs", params={"schedule_id": sid, "limit": 500})["runs"]

    wait_for(lambda: len(runs()) >= 4, timeout=120, what="four firings of alice's schedule")
    ok(alice, "PATCH", f"schedules/{sid}", json={"paused": True})
    fired = runs()
    assert all(r["user"] == "alice" for r in fired)
    lost = [r for r in fired if r["error"] and "not found" in r["error"]]
    assert not lost, f"bob's server fired alice's schedule: {lost}"
    started = [r for r in fired if r["job_id"]]
    assert started, fired
    for r in started:  # alice's server ran them: alice's own server answers for their jobs
        assert ok(alice, "GET", f"jobs/{r['job_id']}")["spec"]["notebook"] == "alice_only.ipynb"
    assert "alice_only" not in pair.bob.log_path.read_text()

    # A CronJob into ml-alice with bob's credentials: Kubernetes refuses, nothing is stored.
    before = managed_objects(admin, "ml-alice")
    status, err = call(bob, "POST", "schedules", json={
        "notebook": "train.ipynb", "cron": "15 6 * * *", "target": "kube-alice",
        "runtime": "python", "executor": "kubernetes"})
    assert status == 403, err
    assert 'cannot create resource "cronjobs"' in err["message"], err
    assert 'namespace "ml-alice"' in err["message"], err
    assert not [s for s in ok(bob, "GET", "schedules", params={"limit": 500})["schedules"]
                if s["target"] == "kube-alice"]
    assert managed_objects(admin, "ml-alice") == before
    ok(alice, "DELETE", f"schedules/{sid}")


# -- models ---------------------------------------------------------------------------------------
def test_models_are_private_under_the_private_policy(pair: Pair) -> None:
    alice, bob, admin = pair.alice, pair.bob, pair.admin
    for srv in (alice, bob):
        (srv.root / "export").mkdir(exist_ok=True)
        (srv.root / "export" / "saved_model.pb").write_bytes(srv.user.encode())
    name = f"iris{os.urandom(3).hex()}"
    v1 = ok(alice, "POST", "models", json={"path": "export", "name": name,
                                           "metrics": {"auc": 0.9}})
    full = f"alice/{name}"
    assert (v1["name"], v1["version"]) == (full, 1)
    # Written to the shared store as alice (proxy user), not as the superuser.
    status = pair.hdfs.client("prod-a").status(f"{pair.store}/alice/{name}/1")
    assert status["owner"] == "alice", status
    ok(alice, "POST", f"models/{quote(full, safe='')}/versions/1/stage",
       json={"stage": "staging"})
    dep = ok(alice, "POST", f"models/{quote(full, safe='')}/versions/1/deploy",
             json={"target": "kube"})
    assert dep["namespace"] == "ml-alice"

    # bob's own model of the same short name is his: no clash, no hint of alice's.
    mine = ok(bob, "POST", "models", json={"path": "export", "name": name})
    assert mine["name"] == f"bob/{name}"
    listing = ok(bob, "GET", "models")
    assert listing["name_policy"] == "private"
    assert {m["owner"] for m in listing["models"]} == {"bob"}
    assert full not in {m["name"] for m in listing["models"]}
    assert full in {m["name"] for m in ok(alice, "GET", "models")["models"]}

    deployed = managed_objects(admin, "ml-alice")
    for form in (quote(full, safe=""), full):
        assert_404(bob, "GET", f"models/{form}/versions")
        assert_404(bob, "GET", f"models/{form}/versions/1")
        assert_404(bob, "POST", f"models/{form}/versions/1/stage", json={"stage": "production"})
        assert_404(bob, "POST", f"models/{form}/versions/1/deploy", json={"target": "kube"})
        assert_404(bob, "GET", f"models/{form}/deployment")
    status, err = call(bob, "POST", "models", json={"path": "export", "name": full})
    assert status == 403 and f"bob/{name}" in err["message"], err  # the name policy, no more
    versions = ok(alice, "GET", f"models/{quote(full, safe='')}/versions")["versions"]
    assert [(v["version"], v["stage"], v["user"]) for v in versions] == [(1, "staging", "alice")]
    assert ok(alice, "GET", f"models/{quote(full, safe='')}/deployment")["user"] == "alice"
    assert managed_objects(admin, "ml-alice") == deployed

    # bob's own model, served into ml-alice by his credentials: Kubernetes says no.
    status, err = call(bob, "POST", f"models/{quote(mine['name'], safe='')}/versions/1/deploy",
                       json={"target": "kube", "namespace": "ml-alice"})
    assert status == 403, err
    assert "ml-alice" in err["message"] and '"bob"' in err["message"], err
    assert managed_objects(admin, "ml-alice") == deployed
    assert_404(bob, "GET", f"models/{quote(mine['name'], safe='')}/deployment")

    apps, core = client.AppsV1Api(admin), client.CoreV1Api(admin)
    apps.delete_namespaced_deployment(dep["deployment"], "ml-alice")
    core.delete_namespaced_service(dep["service"], "ml-alice")


# -- TensorBoards ---------------------------------------------------------------------------------
def test_tensorboards_belong_to_the_server_that_started_them(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    (alice.root / "tb").mkdir(exist_ok=True)
    tb_id = ok(alice, "POST", "tensorboards", json={"logdir": "tb"})["id"]
    assert tb_id not in {t["id"] for t in ok(bob, "GET", "tensorboards")["tensorboards"]}
    assert_404(bob, "GET", f"tensorboards/{tb_id}")
    assert_404(bob, "DELETE", f"tensorboards/{tb_id}")
    resp = requests.get(f"{bob.url}/jupyter-mlplat/tensorboard/{tb_id}/", headers=bob.headers,
                        timeout=30)
    assert resp.status_code == 404, resp.text
    assert ok(alice, "GET", f"tensorboards/{tb_id}")["state"] in ("starting", "running")
    ok(alice, "DELETE", f"tensorboards/{tb_id}")


# -- HDFS -----------------------------------------------------------------------------------------
def test_hdfs_is_accessed_as_the_user(pair: Pair) -> None:
    alice, bob, hdfs = pair.alice, pair.bob, pair.hdfs
    tag = os.urandom(4).hex()
    webhdfs = hdfs.cluster("prod-a").webhdfs_url

    def owner(path: str) -> str:
        resp = requests.get(f"{webhdfs}/webhdfs/v1{path}", timeout=30,
                            params={"op": "GETFILESTATUS", "user.name": SUPERUSER})
        resp.raise_for_status()
        return str(resp.json()["FileStatus"]["owner"])

    for srv in (alice, bob):
        path = f"user/{srv.user}/iso-{tag}.txt"
        ok(srv, "PUT", f"storage/prod-a/contents/{path}",
           json={"type": "file", "format": "text", "content": f"{srv.user}'s notes"})
        assert owner(f"/{path}") == srv.user

    # bob makes a folder of his home private (0700) and puts a file in it.
    ok(bob, "PUT", f"storage/prod-a/contents/user/bob/private-{tag}", json={"type": "directory"})
    ok(bob, "PUT", f"storage/prod-a/contents/user/bob/private-{tag}/secret.txt",
       json={"type": "file", "format": "text", "content": "bob only"})
    resp = requests.put(f"{webhdfs}/webhdfs/v1/user/bob/private-{tag}", timeout=30,
                        params={"op": "SETPERMISSION", "permission": "700", "user.name": "bob"})
    resp.raise_for_status()
    assert owner(f"/user/bob/private-{tag}") == "bob"

    for path in (f"user/bob/private-{tag}/secret.txt", f"user/bob/private-{tag}"):
        status, err = call(alice, "GET", f"storage/prod-a/contents/{path}")
        assert status == 403, (path, err)
        assert "Permission denied: user=alice" in err["message"], err
    status, err = call(alice, "PUT", f"storage/prod-a/contents/user/bob/private-{tag}/x.txt",
                       json={"type": "file", "format": "text", "content": "hi"})
    assert status == 403 and "user=alice" in err["message"], err
    status, err = call(alice, "POST", "tensorboards",
                       json={"logdir": f"hdfs://prod-a/user/bob/private-{tag}"})
    assert status == 403 and "user=alice" in err["message"], err
    # bob still reads his file; nothing of alice's attempts is left in his folder.
    assert ok(bob, "GET", f"storage/prod-a/contents/user/bob/private-{tag}/secret.txt",
              params={"content": 1})["content"] == "bob only"
    assert sorted(hdfs.client("prod-a").list(f"/user/bob/private-{tag}")) == ["secret.txt"]


# -- the shared model policies ------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["refuse", "namespace"])
def test_shared_model_policies_let_only_the_owner_change_a_model(policy: str,
                                                                 tmp_path: Path) -> None:
    """Under ``refuse``/``namespace`` the catalogue is shared by design: alice reads bob's
    model, but its stages and deployment stay bob's."""
    root = tmp_path / "root"
    (root / "export").mkdir(parents=True)
    (root / "export" / "saved_model.pb").write_bytes(b"bob's")
    cfg = load_config({"user": "alice", "data_dir": str(tmp_path / "data"),
                       "model_name_policy": policy,
                       "targets": [{"name": "kube", "kind": "kubernetes"}],
                       "registry": {"push": "127.0.0.1:5000", "insecure": True}})
    plat = Platform(cfg, root)
    try:
        models = plat.models
        published = models.publish(PublishRequest(path="export", name="churn"), "bob")
        name = published.name
        assert [m.name for m in models.list_models().models] == [name]  # shared by design
        assert models.versions(name, "alice").versions[0].user == "bob"
        with pytest.raises(Forbidden, match="only its owner may change its stages"):
            models.set_stage(name, 1, Stage.production, "alice")
        with pytest.raises(Forbidden, match="only its owner may deploy it"):
            models.deploy(name, DeployRequest(target="kube"), "alice")
        assert models.version(name, 1, "alice").stage is Stage.none
        assert models.set_stage(name, 1, Stage.staging, "bob").stage is Stage.staging
    finally:
        plat.close()
