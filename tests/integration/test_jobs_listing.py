"""The jobs listing on both stores: cursor pages walk every match once, in order, and the total
is exact below its cap and a labelled lower bound above it."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert

from jupyter_mlplat.db import Database, JobEventRow, JobRow
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.errors import InvalidRequest
from jupyter_mlplat.jobs import store as store_module
from jupyter_mlplat.jobs.schemas import JobSpec, JobState
from jupyter_mlplat.jobs.store import JobStore

pytestmark = pytest.mark.integration

NOTEBOOKS = ["a.ipynb", "b.ipynb", "c.ipynb"]
TARGETS = ["local", "gpu"]
STATES = [s.value for s in JobState]
COUNT = 400


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        server: Component = request.getfixturevalue("postgres")
        url = server.info()["url"]
    db = Database(url)
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def filled(database: Database) -> Iterator[tuple[JobStore, str, list[dict[str, Any]]]]:
    """COUNT jobs of one fresh user; every fifth shares its creation time with the one before,
    so that pages have to break ties on the id."""
    user = "u" + secrets.token_hex(4)
    rnd = random.Random(11)
    start = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    rows: list[dict[str, Any]] = []
    created = start
    for i in range(COUNT):
        if i % 5:
            created += dt.timedelta(seconds=rnd.randint(1, 90), microseconds=rnd.randint(0, 999))
        notebook = rnd.choice(NOTEBOOKS)
        rows.append({
            "id": f"j{secrets.token_hex(6)}", "name": f"job {i}", "user": user,
            "state": rnd.choice(STATES), "target": rnd.choice(TARGETS), "notebook": notebook,
            "spec": JobSpec(notebook=notebook).model_dump(mode="json"), "created": created,
            "outputs": {}, "backend_ref": {},
        })
    with database.engine.begin() as conn:
        conn.execute(insert(JobRow), rows)
        conn.execute(insert(JobEventRow), [
            {"job_id": r["id"], "time": r["created"], "state": "queued", "message": "submitted"}
            for r in rows])
    try:
        yield JobStore(database), user, rows
    finally:
        with database.engine.begin() as conn:
            conn.execute(delete(JobRow).where(JobRow.user == user))


def expected(rows: list[dict[str, Any]], filters: dict[str, Any]) -> list[str]:
    def keep(r: dict[str, Any]) -> bool:
        return ((not filters.get("state") or r["state"] in filters["state"])
                and r["notebook"] == filters.get("notebook", r["notebook"])
                and r["target"] == filters.get("target", r["target"]))
    matches = sorted((r for r in rows if keep(r)), key=lambda r: (r["created"], r["id"]),
                     reverse=True)
    return [r["id"] for r in matches]


FILTERS: list[dict[str, Any]] = [
    {},
    {"state": ["failed"]},
    {"state": ["queued", "running", "pending"]},
    {"notebook": "b.ipynb"},
    {"notebook": "a.ipynb", "state": ["succeeded"]},
    {"notebook": "c.ipynb", "state": ["failed", "cancelled"]},
    {"target": "gpu"},
    {"target": "local", "state": ["running", "succeeded"], "notebook": "a.ipynb"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f"{k}" for k in f) or "all")
def test_cursor_pages_walk_every_match_once_in_order(
        filled: tuple[JobStore, str, list[dict[str, Any]]], filters: dict[str, Any]) -> None:
    store, user, rows = filled
    want = expected(rows, filters)
    seen: list[str] = []
    cursor = None
    for _ in range(COUNT):
        page = store.page(user=user, limit=17, cursor=cursor, **filters)
        assert page.total == len(want) and page.total_exact
        assert len(page.jobs) <= 17 and page.offset == 0
        seen += [j.id for j in page.jobs]
        cursor = page.next
        if cursor is None:
            break
    assert seen == want
    # offset paging stays what it was, and agrees with the cursor's pages
    by_offset = [j.id for j in store.page(user=user, limit=17, offset=34, **filters).jobs]
    assert by_offset == want[34:51]


def test_a_job_submitted_while_paging_neither_shifts_nor_repeats(
        filled: tuple[JobStore, str, list[dict[str, Any]]]) -> None:
    store, user, rows = filled
    first = store.page(user=user, limit=10)
    store.create(spec=JobSpec(notebook="a.ipynb"), user=user, name="late", outputs={})
    second = store.page(user=user, limit=10, cursor=first.next)
    assert [j.id for j in first.jobs + second.jobs] == expected(rows, {})[:20]
    assert second.total == COUNT + 1


def test_total_is_a_labelled_lower_bound_above_the_cap(
        filled: tuple[JobStore, str, list[dict[str, Any]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    store, user, rows = filled
    monkeypatch.setattr(store_module, "TOTAL_CAP", 100)
    page = store.page(user=user, limit=10)
    assert (page.total, page.total_exact) == (100, False) and page.next
    small = expected(rows, {"notebook": "a.ipynb", "state": ["failed"]})
    assert 10 < len(small) <= 100
    page = store.page(user=user, limit=10, notebook="a.ipynb", state=["failed"])
    assert (page.total, page.total_exact) == (len(small), True)
    last = store.page(user=user, limit=500, notebook="a.ipynb", state=["failed"])
    assert (last.total, last.total_exact, last.next) == (len(small), True, None)


@pytest.mark.parametrize("cursor", ["nope", "", "W10", "WyJ4IiwieSJd", "eyJhIjoxfQ", "%%%",
                                    "WyIyMDI1LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwxXQ",
                                    # year 1 at +01:00 (before the first UTC instant)
                                    "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwiajEiXQ",
                                    # a NUL in the id, which PostgreSQL cannot even compare
                                    "WyIyMDI1LTAxLTAxVDAwOjAwOjAwIiwiamFcdTAwMDAiXQ"])
def test_a_cursor_not_of_ours_is_the_clients_error(
        filled: tuple[JobStore, str, list[dict[str, Any]]], cursor: str) -> None:
    store, user, _rows = filled
    with pytest.raises(InvalidRequest, match="not a jobs cursor"):
        store.page(user=user, cursor=cursor)


def test_cursor_and_offset_together_are_refused(
        filled: tuple[JobStore, str, list[dict[str, Any]]]) -> None:
    store, user, _rows = filled
    cursor = store.page(user=user, limit=5).next
    with pytest.raises(InvalidRequest, match="not both"):
        store.page(user=user, cursor=cursor, offset=5)


def test_every_state_combination_pages_like_the_brute_force(
        filled: tuple[JobStore, str, list[dict[str, Any]]]) -> None:
    store, user, rows = filled
    for size in (2, 5, 9):
        for states in itertools.islice(itertools.combinations(STATES, size), 4):
            want = expected(rows, {"state": list(states)})
            page = store.page(user=user, state=list(states), limit=25)
            rest = store.page(user=user, state=list(states), limit=500, cursor=page.next)
            assert [j.id for j in page.jobs + rest.jobs] == want
