"""tensorboardX writes ``hdfs://`` log dirs through the storage layer once the runtime image's
start-up hook ran (here against a ``local`` storage cluster; the real HDFS and the real node run
in tests/integration/test_node_outputs.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import jupyter_mlplat.site_hooks  # what the image's .pth line runs at interpreter start
import os, sys, time
from tensorboardX import SummaryWriter
folder = sys.argv[1]
writer = SummaryWriter("hdfs://loc/tb/run1", flush_secs=1)
sizes = []
for step in range(3):
    writer.add_scalar("loss", 1.0 / (step + 1), step)
    time.sleep(1.3)  # past flush_secs: the writer's thread appended the step
    (name,) = os.listdir(folder)
    sizes.append(os.path.getsize(os.path.join(folder, name)))
writer.close()
print(sizes)
"""


def test_summary_writer_appends_each_flush_to_an_hdfs_log_dir(tmp_path: Path) -> None:
    root = tmp_path / "cluster"
    root.mkdir()
    env = {**os.environ,
           "MLPLAT_STORAGE": json.dumps([{"name": "loc", "kind": "local", "root": str(root)}]),
           "MLPLAT_USER": "alice"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(root / "tb" / "run1")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    sizes = json.loads(done.stdout.strip().splitlines()[-1])
    assert sizes[0] < sizes[1] < sizes[2], sizes  # each step is on the cluster once flushed
    assert not (tmp_path / "hdfs:").exists()  # never a local folder named after the URL

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(root / "tb" / "run1"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss")] == [0, 1, 2]
