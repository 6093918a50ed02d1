"""Every ``MLPLAT_*`` environment variable, named once.

They are the contract between the Jupyter server, its terminals and kernels (``mlp``, the
magics), the local runner and the containers of cluster jobs. A variable is read or set only
through these names.
"""

from __future__ import annotations

#: The platform config file the server wrote for its terminals, kernels and runners.
CONFIG = "MLPLAT_CONFIG_FILE"
#: The Jupyter root folder: paths a user gives are resolved against it.
ROOT_DIR = "MLPLAT_ROOT_DIR"
#: The user the server acts for (also in job containers).
USER = "MLPLAT_USER"
#: The storage clusters (names, addresses, secret *references*) as JSON, for ``hdfs://`` in jobs.
STORAGE = "MLPLAT_STORAGE"
#: In a job pod, ``<prefix><CLUSTER>`` holds the token of a cluster whose token is a
#: ``{k8s_secret: …}`` reference (the kubelet reads it from the Secret; MLPLAT_STORAGE names
#: the variable instead of the Secret).
TOKEN_PREFIX = "MLPLAT_HDFS_TOKEN_"
#: The running Jupyter server's URL, for ``mlp tensorboard`` in its terminals.
SERVER_URL = "MLPLAT_SERVER_URL"
#: The job's own folder for what it produces (models, files); its output notebook is there too.
OUTPUT_DIR = "MLPLAT_OUTPUT_DIR"
#: A cluster job's output notebook and log copy when its outputs live on a storage cluster
#: (``hdfs://…``): the runner in the pod writes them there (``runner.py`` names them too, as it
#: also runs as a script without this package).
OUTPUT_NOTEBOOK = "MLPLAT_OUTPUT_NOTEBOOK"
OUTPUT_LOG = "MLPLAT_OUTPUT_LOG"
#: The folder a job writes TensorBoard events to (``tf.summary``/tensorboardX ``logdir``).
TENSORBOARD_DIR = "MLPLAT_TENSORBOARD_DIR"
#: The job's id, target and runtime, in its container.
JOB_ID = "MLPLAT_JOB_ID"
TARGET = "MLPLAT_TARGET"
RUNTIME = "MLPLAT_RUNTIME"
#: The schedule a CronJob's job belongs to.
SCHEDULE_ID = "MLPLAT_SCHEDULE_ID"
#: In a CronJob's pod: the name of the Kubernetes Job that fired (from the pod's
#: ``batch.kubernetes.io/job-name`` label); its output locations name it as ``$(MLPLAT_K8S_JOB)``,
#: so each firing has an output folder of its own.
K8S_JOB = "MLPLAT_K8S_JOB"
#: Set by the code layer of an image: where the code is, what to run, its parameters and output.
WORKDIR = "MLPLAT_WORKDIR"
SOURCE = "MLPLAT_SOURCE"
PARAMETERS_FILE = "MLPLAT_PARAMETERS_FILE"
OUTPUT = "MLPLAT_OUTPUT"
SOURCE_HASH = "MLPLAT_SOURCE_HASH"
