"""What the `mlp` commands, the ``%mlp_*`` magics and the widgets share.

How a value a user typed is read (:mod:`.specs`), the options of a submit stated once for both
click and IPython (:mod:`.submit_options`), how jobs are shown as text (:mod:`.present`) and
what a domain error means to a user (:mod:`.errors`). Kernel-safe: nothing here imports the
server, the database, Kubernetes or the sandbox; a kernel's ``%load_ext jupyter_mlplat`` loads
only this, the job models and the config.
"""
