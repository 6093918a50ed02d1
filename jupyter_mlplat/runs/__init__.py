"""Parameterized papermill runs of notebooks, and cron schedules that fire them.

A run is a job (the jobs service executes it and stays the one store of truth for its state)
plus a row of run metadata: which notebook, which schedule and due time fired it, what it reran.
"""
