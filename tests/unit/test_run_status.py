"""A run row's status is an enum in Python and its plain value in the database: rows written
before the enum (text) read back as members, and a value outside the enum is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from jupyter_mlplat.db import Database, utcnow
from jupyter_mlplat.runs.orm import RunRow
from jupyter_mlplat.runs.schemas import RunStatus


def row(run_id: str, status: object) -> RunRow:
    return RunRow(id=run_id, user="alice", notebook="a.ipynb", parameters={},
                  trigger="manual", status=status, warnings=[], spec={}, created=utcnow())


def test_status_is_stored_as_its_value_and_read_as_the_enum(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'runs.db'}")
    db.migrate()
    with db.session() as s:
        s.add(row("r1", RunStatus.claimed))
        s.add(row("r2", "skipped"))  # a value given as text is taken as its member
    with db.session() as s:
        stored = dict(s.execute(text("SELECT id, status FROM runs")).all())
        assert stored == {"r1": "claimed", "r2": "skipped"}
        # a row written as text (as before the enum) reads back as a member
        s.execute(text("UPDATE runs SET status = 'submitted' WHERE id = 'r1'"))
    with db.session() as s:
        statuses = {r.id: r.status for r in s.scalars(select(RunRow))}
        assert statuses == {"r1": RunStatus.submitted, "r2": RunStatus.skipped}
        assert all(isinstance(v, RunStatus) for v in statuses.values())
        assert s.scalar(select(RunRow.id).where(RunRow.status == RunStatus.skipped)) == "r2"
    with pytest.raises(StatementError, match="'queued' is not a valid RunStatus"), \
            db.session() as s:
        s.add(row("r3", "queued"))  # a job's state, not a row status
    with db.session() as s:
        assert s.get(RunRow, "r3") is None
    db.dispose()
