"""Server configuration for the Galata UI tests: an open server on port 8888 (or
``$MLPLAT_UI_PORT``) with a temporary root folder, and the ML platform keeping its database and
job files in a temporary folder too.

Storage: the server root as the cluster ``local``, and the two HDFS mini clusters of the
devcluster harness (``prod-a`` with permissions on, ``prod-b`` with them off). ``prod-b:/big`` is
filled with 10,000 entries in the background for the large-folder test; ``/big-ready`` appears
when it is done.

Compute: the ``local`` target, and the sandbox's real node as the Kubernetes target
``kube-node`` (kube-apiserver, the registry with the runtime image, kubelet + containerd), its
jobs' outputs on ``hdfs://prod-b/user/alice/mlplat-jobs/<job id>``: the config comes from
:func:`jupyter_mlplat.devcluster.sandbox.cluster_jobs_config`, as in the integration tests.

The HDFS clusters start beside the API server and the registry; the node starts once those two
are up. Everything stops when the server exits (Playwright stops it with SIGTERM), the node
first; a watchdog process stops them too if the server is killed instead.
"""

import atexit
import contextlib
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import mkdtemp

from jupyterlab.galata import configure_jupyter_server

from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.hdfs import HdfsClusters, platform_config
from jupyter_mlplat.devcluster.sandbox import Sandbox, cluster_jobs_config, component_class

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = int(os.environ.get("MLPLAT_UI_PORT", "8888"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.MLPlatApp.data_dir = mkdtemp(prefix="mlplat-ui-tests-")  # noqa: F821
c.MLPlatApp.reconcile_interval = 0.5  # noqa: F821

BIG_FOLDER = "/big"
BIG_ENTRIES = 10_000

logging.basicConfig(level=logging.INFO)
logging.getLogger("hdfs").setLevel(logging.WARNING)
log = logging.getLogger("mlplat-ui-tests")
engines = Path(mkdtemp(prefix="mlplat-ui-engines-"))
# What is started is recorded in the sandbox's state file: ``down`` stops it when the server
# exits, or, should the server be killed, the watchdog does once the server is gone.
sandbox = Sandbox(engines)
started: list[Component] = []
recording = threading.Lock()


def stop_engines() -> None:
    sandbox.down()
    shutil.rmtree(engines, ignore_errors=True)


atexit.register(stop_engines)
subprocess.Popen(
    ["sh", "-c", 'while kill -0 "$0" 2>/dev/null; do sleep 0.5; done; '
     '"$1" -m jupyter_mlplat.devcluster down --workdir "$2" >/dev/null; rm -rf "$2"',
     str(os.getpid()), sys.executable, str(engines)],
    start_new_session=True, stdin=subprocess.DEVNULL)


def up(comp: Component) -> Component:
    t0 = time.monotonic()
    comp.build()
    comp.start()
    with recording:
        started.append(comp)
        sandbox.record(started)
    log.info("%s up in %.1f s", comp.name, time.monotonic() - t0)
    return comp


def engine(name: str) -> Component:
    return component_class(name)(engines)


t0 = time.monotonic()
with ThreadPoolExecutor(3) as pool:
    hdfs_up = pool.submit(up, HdfsClusters(engines))
    kube_up, registry_up = pool.submit(up, engine("kube")), pool.submit(up, engine("registry"))
    kube, registry = kube_up.result(), registry_up.result()
    node = engine("node")
    node.use({"kube": kube.info(), "registry": registry.info()})  # type: ignore[attr-defined]
    up(node)
    hdfs: HdfsClusters = hdfs_up.result()  # type: ignore[assignment]
log.info("engines up in %.1f s", time.monotonic() - t0)

cluster = cluster_jobs_config(node.info(), registry.info(), hdfs.info())
c.MLPlatApp.user = cluster["user"]  # noqa: F821
c.MLPlatApp.storage = [  # noqa: F821
    {"name": "local", "kind": "local"},
    *platform_config(hdfs.info())["storage"],
]
c.MLPlatApp.targets = [{"name": "local", "kind": "local"}, *cluster["targets"]]  # noqa: F821
c.MLPlatApp.registry = cluster["registry"]  # noqa: F821
c.MLPlatApp.runtimes = cluster["runtimes"]  # noqa: F821


def fill_big_folder() -> None:
    """10,000 entries (folders: one WebHDFS call each) in prod-b:/big, then the marker.

    Daemon threads rather than an executor: Python waits for an executor's queued work before
    it exits, so a server stopped while this runs would hang until all 10,000 are made.
    """
    client = hdfs.client("prod-b")
    client.makedirs(BIG_FOLDER)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(BIG_ENTRIES):
        todo.put(i)

    def work() -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                client.makedirs(f"{BIG_FOLDER}/entry-{todo.get_nowait():05d}")

    workers = [threading.Thread(target=work, daemon=True) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    client.write(f"{BIG_FOLDER}-ready", data=b"", overwrite=True)


threading.Thread(target=fill_big_folder, name="fill-big-folder", daemon=True).start()

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
