"""Server configuration for the Galata UI tests: an open server on port 8888 (or
``$MLPLAT_UI_PORT``) with a temporary root folder, and the ML platform keeping its database and
job files in a temporary folder too.

Storage: the server root as the cluster ``local``, and the two HDFS mini clusters of the
devcluster harness (``prod-a`` with permissions on, ``prod-b`` with them off), started here and
stopped when the server exits (Playwright stops it with SIGTERM). ``prod-b:/big`` is filled with
10,000 entries in the background for the large-folder test; ``/big-ready`` appears when it is done.
"""

import atexit
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import mkdtemp

from jupyterlab.galata import configure_jupyter_server

from jupyter_mlplat.devcluster.hdfs import HdfsClusters, platform_config

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.port = int(os.environ.get("MLPLAT_UI_PORT", "8888"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.MLPlatApp.data_dir = mkdtemp(prefix="mlplat-ui-tests-")  # noqa: F821
c.MLPlatApp.reconcile_interval = 0.5  # noqa: F821

BIG_FOLDER = "/big"
BIG_ENTRIES = 10_000

logging.basicConfig(level=logging.INFO)
logging.getLogger("hdfs").setLevel(logging.WARNING)
hdfs = HdfsClusters(Path(mkdtemp(prefix="mlplat-ui-hdfs-")))
hdfs.build()
hdfs.start()
atexit.register(hdfs.stop)

c.MLPlatApp.storage = [  # noqa: F821
    {"name": "local", "kind": "local"},
    *platform_config(hdfs.info())["storage"],
]


def fill_big_folder() -> None:
    """10,000 entries (folders: one WebHDFS call each) in prod-b:/big, then the marker."""
    client = hdfs.client("prod-b")
    client.makedirs(BIG_FOLDER)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.makedirs(f"{BIG_FOLDER}/entry-{i:05d}"),
                      range(BIG_ENTRIES)))
    client.write(f"{BIG_FOLDER}-ready", data=b"", overwrite=True)


threading.Thread(target=fill_big_folder, name="fill-big-folder", daemon=True).start()

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
