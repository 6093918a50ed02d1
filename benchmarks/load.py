"""Load: concurrent storage listings and concurrent job submissions through the REST API.

Starts the sandbox's Kubernetes (kube-apiserver, KWOK) and image registry, and a live Jupyter
server with two compute targets, ``local`` and that cluster's ``kube``; then, each phase released
at once from a barrier:

* **listings**: ``--listings`` (200) clients list the same 500-entry folder of ``local``;
* **submissions**: ``--submits`` (50) clients submit a small job each (with an idempotency key),
  alternately to ``local`` and ``kube`` (the code appended onto the runtime image, pushed, run
  as a Kubernetes Job), after which every job is followed to its end.

Every request must succeed, every job must succeed, and there must be exactly one job per
submission (no duplicates, none lost). Prints p50/p95/max latency per phase.

    python benchmarks/load.py [--listings 200] [--submits 50] [--local-only]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.sandbox import component_class
from tests.live_server import LiveServer, live_server

FOLDER = "load/listing"
FINAL = {"succeeded", "failed", "cancelled"}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def concurrently(count: int, fn: Callable[[int], requests.Response]
                 ) -> tuple[list[float], list[requests.Response]]:
    """Run ``fn(i)`` in ``count`` threads released together; (latencies in ms, responses)."""
    barrier = threading.Barrier(count)

    def one(i: int) -> tuple[float, requests.Response]:
        barrier.wait()
        began = time.perf_counter()
        resp = fn(i)
        return (time.perf_counter() - began) * 1000, resp

    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(one, range(count)))
    return [r[0] for r in results], [r[1] for r in results]


def report(name: str, times: list[float], wall: float) -> None:
    print(f"  {name:<12}{len(times):>5}{statistics.median(times):>10.0f}"
          f"{percentile(times, 95):>10.0f}{max(times):>10.0f}{wall:>10.1f}", flush=True)


def listings(server: LiveServer, count: int) -> None:
    folder = server.root / FOLDER
    folder.mkdir(parents=True)
    for i in range(500):
        (folder / f"file-{i:03d}.csv").write_text(f"{i}\n")
    url = f"{server.url}/jupyter-mlplat/api/storage/local/contents/{FOLDER}"
    began = time.perf_counter()
    times, resps = concurrently(count, lambda _: requests.get(url, headers=server.headers,
                                                              timeout=300))
    wall = time.perf_counter() - began
    bad = [r.status_code for r in resps if r.status_code != 200]
    assert not bad, f"listings failed: {bad}"
    assert all(len(r.json()["content"]) == 500 for r in resps), "a listing was incomplete"
    report("listings", times, wall)


def submissions(server: LiveServer, count: int, targets: list[str]) -> None:
    api = f"{server.url}/jupyter-mlplat/api/jobs"
    run = uuid.uuid4().hex[:8]

    def submit(i: int) -> requests.Response:
        body: dict[str, Any] = {"code": f"print('load job {i}')", "name": f"load-{run}-{i}",
                                "client_request_id": f"load-{run}-{i}",
                                "target": targets[i % len(targets)]}
        return requests.post(api, json=body, headers=server.headers, timeout=300)

    began = time.perf_counter()
    times, resps = concurrently(count, submit)
    wall = time.perf_counter() - began
    bad = [(r.status_code, r.text[:200]) for r in resps if r.status_code != 201]
    assert not bad, f"submissions failed: {bad}"
    ids = {r.json()["id"] for r in resps}
    assert len(ids) == count, f"{count} submissions gave {len(ids)} distinct jobs"
    report("submissions", times, wall)
    if len(targets) > 1:
        for k, target in enumerate(targets):
            report(f"  {target}", times[k::len(targets)], wall)

    deadline = time.monotonic() + 60 * 30
    while True:
        page = requests.get(api, params={"limit": 500}, headers=server.headers,
                            timeout=60).json()
        mine = [j for j in page["jobs"] if j["name"].startswith(f"load-{run}-")]
        if all(j["state"] in FINAL for j in mine) and len(mine) == count:
            break
        assert time.monotonic() < deadline, "jobs did not finish in 30 minutes"
        time.sleep(1)
    finished = time.perf_counter() - began
    assert {j["id"] for j in mine} == ids, "the listing does not show exactly the submitted jobs"
    failed = [(j["id"], j["spec"]["target"], j["state"], j.get("error")) for j in mine
              if j["state"] != "succeeded"]
    for target in targets:
        ran = [j for j in mine if j["spec"]["target"] == target]
        ok = sum(j["state"] == "succeeded" for j in ran)
        print(f"  {target}: {ok}/{len(ran)} jobs succeeded", flush=True)
    print(f"  {count - len(failed)}/{count} jobs succeeded, all ended {finished:.1f} s after "
          "the burst; no duplicates", flush=True)
    assert not failed, f"jobs did not succeed: {failed[:5]}"


@contextmanager
def engines(tmp: Path) -> Iterator[dict[str, Any]]:
    """Kubernetes and the registry of the sandbox; the platform config that targets them."""
    started: list[Component] = []
    try:
        for name in ("kube", "registry"):
            (tmp / name).mkdir(parents=True)
            comp = component_class(name)(tmp / name)
            comp.build()
            print(f"  starting {name} ...", flush=True)
            comp.start()
            started.append(comp)
        kube, registry = (c.info() for c in started)
        yield {"user": kube["user"],
               "targets": [{"name": "local", "kind": "local"},
                           *devkube.platform_config(kube)["targets"]],
               **devregistry.platform_config(registry)}
    finally:
        for comp in reversed(started):
            comp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--submits", type=int, default=50)
    parser.add_argument("--local-only", action="store_true",
                        help="submit to the local target only (no Kubernetes, no registry)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlplat-load-") as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        server_args: list[str] = []
        targets = ["local"]
        if not args.local_only:
            config = stack.enter_context(engines(tmp / "engines"))
            (tmp / "mlplat.yaml").write_text(yaml.safe_dump(config))
            server_args.append(f"--MLPlatApp.config_file={tmp / 'mlplat.yaml'}")
            targets = [t["name"] for t in config["targets"]]
        server = stack.enter_context(live_server(tmp / "server", *server_args))
        print(f"  {'phase':<12}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'wall s':>10}")
        listings(server, args.listings)
        submissions(server, args.submits, targets)


if __name__ == "__main__":
    main()
