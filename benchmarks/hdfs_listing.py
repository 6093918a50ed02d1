"""Listing a 10,000-entry HDFS directory: our REST route vs. a raw WebHDFS LISTSTATUS.

Starts the two mini clusters (devcluster ``HdfsClusters``) and a live Jupyter server whose
platform config names them, fills a folder of ``prod-b`` with 10,000 entries (files and folders),
then times, alternating, the same listing:

* **raw**: ``GET /webhdfs/v1/<dir>?op=LISTSTATUS`` on the name node with requests, JSON parsed;
* **ours**: ``GET /jupyter-mlplat/api/storage/prod-b/contents/<dir>`` (Jupyter contents model of
  every entry) with requests, JSON parsed.

Goal (DESIGN.md): ours / raw <= 1.3 on the median.

    python benchmarks/hdfs_listing.py [--entries 10000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_mlplat.devcluster.hdfs import HdfsClusters, platform_config
from tests.live_server import live_server

FOLDER = "/bench/listing"


def fill(clusters: HdfsClusters, entries: int) -> None:
    client = clusters.client("prod-b")
    client.makedirs(FOLDER)

    def make(i: int) -> None:
        path = f"{FOLDER}/entry-{i:05d}"
        if i % 2:
            client.makedirs(path)
        else:
            client.write(path + ".csv", data=b"", overwrite=True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(entries)))


def timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlplat-bench-") as tmp:
        clusters = HdfsClusters(Path(tmp) / "hdfs")
        clusters.build()
        clusters.start()
        try:
            print(f"filling {FOLDER} on prod-b with {args.entries} entries …", flush=True)
            fill(clusters, args.entries)
            config = Path(tmp) / "mlplat.json"
            config.write_text(json.dumps(platform_config(clusters.info())))
            namenode = clusters.info()["clusters"]["prod-b"]["webhdfs"][0]
            with live_server(Path(tmp) / "server",
                             f"--MLPlatApp.config_file={config}") as server:
                session = requests.Session()
                raw_url = f"{namenode}/webhdfs/v1{FOLDER}"
                ours_url = f"{server.url}/jupyter-mlplat/api/storage/prod-b/contents{FOLDER}"

                def raw() -> None:
                    body = session.get(raw_url, params={"op": "LISTSTATUS",
                                                        "user.name": "hdfs"}).json()
                    assert len(body["FileStatuses"]["FileStatus"]) == args.entries

                def ours(compact: str = "0") -> None:
                    response = session.get(ours_url, headers=server.headers,
                                           params={"compact": compact})
                    response.raise_for_status()
                    assert len(response.json()["content"]) == args.entries

                def ours_compact() -> None:
                    ours("1")

                for _ in range(3):  # warm up: JIT on the name node, connections, imports
                    raw()
                    ours()
                    ours_compact()
                raw_times, our_times, compact_times = [], [], []
                for _ in range(args.repeat):
                    raw_times.append(timed(raw))
                    our_times.append(timed(ours))
                    compact_times.append(timed(ours_compact))
        finally:
            clusters.stop()
    raw_median = statistics.median(raw_times)
    print(f"entries: {args.entries}, runs: {args.repeat} (alternating)")
    print(f"raw WebHDFS LISTSTATUS     : median {raw_median * 1000:7.1f} ms "
          f"(min {min(raw_times) * 1000:.1f})")
    for label, times in (("ours, contents models", our_times),
                         ("ours, compact rows", compact_times)):
        median = statistics.median(times)
        ratio = median / raw_median
        print(f"{label:27s}: median {median * 1000:7.1f} ms (min {min(times) * 1000:.1f})"
              f"  ratio {ratio:.2f}x (goal <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})")


if __name__ == "__main__":
    main()
