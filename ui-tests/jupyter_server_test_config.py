"""Server configuration for the Galata UI tests: an open server on port 8888 with a temporary
root folder, and the ML platform keeping its database and job files in a temporary folder too.
"""

from tempfile import mkdtemp

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.MLPlatApp.data_dir = mkdtemp(prefix="mlplat-ui-tests-")  # noqa: F821
c.MLPlatApp.reconcile_interval = 0.5  # noqa: F821

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
