"""TensorBoard on an HDFS log dir of a real mini cluster: incremental sync, bytes moved, lag."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tensorboardX import SummaryWriter

from jupyter_mlplat.devcluster.hdfs import HdfsClusters

pytestmark = [pytest.mark.integration, pytest.mark.hdfs]

LAG_BUDGET = 3.0


@pytest.fixture
def jp_server_config(hdfs: HdfsClusters, mlplat_data_dir: Path) -> dict[str, Any]:
    info = hdfs.info()["clusters"]
    storage = [{"name": "prod-b", "kind": "webhdfs", "namenodes": info["prod-b"]["webhdfs"],
                "user": "hdfs"}]
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), "user": "alice", "storage": storage},
    }


def event_records(logdir: Path, steps: int) -> tuple[str, list[bytes]]:
    """A closed tensorboardX event file cut into its TFRecords (version header, then one per
    step): appending them one batch at a time is what a training job's writer does."""
    with SummaryWriter(str(logdir)) as writer:
        for step in range(steps):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
    (path,) = logdir.iterdir()
    data, records, at = path.read_bytes(), [], 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at:at + 8])
        records.append(data[at:at + 16 + length])
        at += 16 + length
    return path.name, records


async def steps_seen(jp_fetch: Callable[..., Any], tb_id: str, run: str) -> list[int]:
    resp = await jp_fetch("jupyter-mlplat", "tensorboard", tb_id, "data", "plugin", "scalars",
                          "scalars", params={"tag": "loss", "run": run})
    return [int(point[1]) for point in json.loads(resp.body)]


async def test_hdfs_logdir_syncs_only_new_bytes_within_the_lag_budget(
        api: Any, jp_fetch: Callable[..., Any], hdfs: HdfsClusters, tmp_path: Path) -> None:
    client = hdfs.client("prod-b")
    folder = f"/tmp/tb-{os.urandom(5).hex()}"
    name, records = event_records(tmp_path / "run1", 20)
    assert len(records) == 21
    first = b"".join(records[:6])  # the header and steps 0-4
    remote_file = f"{folder}/run1/{name}"
    client.write(remote_file, data=first)

    status, board = await api("tensorboards", "POST", {"logdir": f"hdfs://prod-b{folder}"})
    assert status == 201, board
    while board["state"] == "starting":
        await asyncio.sleep(0.3)
        board = (await api(f"tensorboards/{board['id']}"))[1]
    assert board["state"] == "running", board
    assert board["sync"]["bytes_fetched"] == len(first)
    assert await steps_seen(jp_fetch, board["id"], "run1") == list(range(5))

    moved = [len(first)]
    lags = []
    for round_ in range(3):  # append, as a training job's writer does, and time the curve
        start = 5 + 5 * round_
        appended = b"".join(records[1 + start:6 + start])
        client.write(remote_file, data=appended, append=True)
        written = time.monotonic()
        moved.append(len(appended))
        while (await steps_seen(jp_fetch, board["id"], "run1"))[-1] != start + 4:
            assert time.monotonic() - written < 30, "new points never appeared"
            await asyncio.sleep(0.05)
        lags.append(time.monotonic() - written)

    status, board = await api(f"tensorboards/{board['id']}")
    total = sum(moved)
    print(f"\nTensorBoard HDFS sync: event file {total} B, fetched "
          f"{board['sync']['bytes_fetched']} B in {board['sync']['polls']} polls; "
          f"appends of {moved[1:]} B; lag write->curve {[round(x, 2) for x in lags]} s")
    # Only new bytes moved: the fetched total is exactly the file's size, never a re-read.
    assert board["sync"]["bytes_fetched"] == total
    assert max(lags) <= LAG_BUDGET, lags

    # A missing HDFS folder is 404, like a missing local one.
    status, err = await api("tensorboards", "POST",
                            {"logdir": f"hdfs://prod-b{folder}/does-not-exist"})
    assert status == 404, err
    status, _ = await api(f"tensorboards/{board['id']}", "DELETE")
    assert status == 204
