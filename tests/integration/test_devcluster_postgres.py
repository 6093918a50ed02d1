"""The sandbox PostgreSQL: reachable by URL on loopback, shared between connections, stops clean."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.postgres import Postgres, platform_config

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture(scope="module")
def info(postgres: Component) -> dict[str, Any]:
    return postgres.info()


def test_url_points_at_loopback_database(info: dict[str, Any]) -> None:
    url = sa.make_url(info["url"])
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.database, url.username) == ("127.0.0.1", "mlplat", "mlplat")
    engine = sa.create_engine(info["url"])
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select current_database()")).scalar() == "mlplat"
            assert conn.execute(sa.text("show listen_addresses")).scalar() == "127.0.0.1"
    finally:
        engine.dispose()


def test_two_connections_see_each_others_commits(info: dict[str, Any]) -> None:
    engine_a = sa.create_engine(info["url"])
    engine_b = sa.create_engine(info["url"])
    try:
        with engine_a.begin() as conn:
            conn.execute(sa.text("create table if not exists leases (name text primary key, "
                                 "owner text not null)"))
        with engine_a.connect() as conn_a, engine_b.connect() as conn_b:
            pid_a = conn_a.execute(sa.text("select pg_backend_pid()")).scalar()
            pid_b = conn_b.execute(sa.text("select pg_backend_pid()")).scalar()
            assert pid_a != pid_b, "two separate server sessions"
            conn_a.execute(sa.text("insert into leases values ('tick', 'a')"))
            seen = conn_b.execute(sa.text("select owner from leases where name='tick'")).all()
            assert seen == [], "an uncommitted write must not be visible"
            conn_a.commit()
            seen = conn_b.execute(sa.text("select owner from leases where name='tick'")).all()
            assert seen == [("a",)]
            conn_b.commit()
            conn_b.execute(sa.text("update leases set owner='b' where name='tick'"))
            conn_b.commit()
            owner = conn_a.execute(sa.text("select owner from leases where name='tick'"))
            assert owner.scalar() == "b"
    finally:
        engine_a.dispose()
        engine_b.dispose()


def test_platform_config_fragment(info: dict[str, Any]) -> None:
    config = load_config(platform_config(info))
    assert config.resolved_database_url() == info["url"]


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    comp = Postgres(tmp_path)
    comp.build()
    comp.start()
    pids = comp.pids()
    data_dir = Path(comp.info()["data_dir"])
    assert pids and data_dir.is_dir()
    engine = sa.create_engine(comp.url)
    conn = engine.connect()  # an open session must not hold the shutdown up
    try:
        comp.stop()
    finally:
        conn.invalidate()
        engine.dispose()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    if not str(data_dir).startswith(str(tmp_path)):
        assert not data_dir.exists(), "a scratch data folder outside the workdir is removed"
