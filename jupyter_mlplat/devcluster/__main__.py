"""``python -m jupyter_mlplat.devcluster``: the ``mlp devcluster`` commands without ``mlp``."""

from .cli import devcluster

if __name__ == "__main__":
    devcluster(prog_name="python -m jupyter_mlplat.devcluster")
