"""Kept for older imports; use :mod:`tests.helpers`."""

from .helpers import write_notebook

__all__ = ["write_notebook"]
