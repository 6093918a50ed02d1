"""Load: concurrent storage listings and concurrent job submissions through the REST API.

Starts a live Jupyter server on the embedded defaults (storage ``local``, target ``local``),
then, each phase released at once from a barrier:

* **listings**: ``--listings`` (200) clients list the same 500-entry folder of ``local``;
* **submissions**: ``--submits`` (50) clients submit a small job each (with an idempotency key),
  after which every job is followed to its end.

Every request must succeed, every job must succeed, and there must be exactly one job per
submission (no duplicates, none lost). Prints p50/p95/max latency per phase.

    python benchmarks/load.py [--listings 200] [--submits 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def submissions(server: LiveServer, count: int) -> None:
    api = f"{server.url}/jupyter-mlplat/api/jobs"
    run = uuid.uuid4().hex[:8]

    def submit(i: int) -> requests.Response:
        body: dict[str, Any] = {"code": f"print('load job {i}')", "name": f"load-{run}-{i}",
                                "client_request_id": f"load-{run}-{i}"}
        return requests.post(api, json=body, headers=server.headers, timeout=300)

    began = time.perf_counter()
    times, resps = concurrently(count, submit)
    wall = time.perf_counter() - began
    bad = [(r.status_code, r.text[:200]) for r in resps if r.status_code != 201]
    assert not bad, f"submissions failed: {bad}"
    ids = {r.json()["id"] for r in resps}
    assert len(ids) == count, f"{count} submissions gave {len(ids)} distinct jobs"
    report("submissions", times, wall)

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
    failed = [(j["id"], j["state"], j.get("error")) for j in mine if j["state"] != "succeeded"]
    print(f"  {count - len(failed)}/{count} jobs succeeded, all ended {finished:.1f} s after "
          "the burst; no duplicates", flush=True)
    assert not failed, f"jobs did not succeed: {failed[:5]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--submits", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlplat-load-") as tmp, \
            live_server(Path(tmp)) as server:
        print(f"  {'phase':<12}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'wall s':>10}")
        listings(server, args.listings)
        submissions(server, args.submits)


if __name__ == "__main__":
    main()
