"""The migrations build exactly the schema the ORM models declare (tables, columns, indexes)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import jupyter_mlplat.models.orm  # importing the ORM modules registers their tables on Base
import jupyter_mlplat.runs.orm
from jupyter_mlplat.db import Base, Database


def test_migrated_schema_equals_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.migrate()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    # SQLite reports its types loosely; what must agree is which tables, columns and indexes
    # exist.
    structural = [d for d in diff if not (isinstance(d, list) or d[0].startswith("modify_"))]
    assert structural == [], structural
    assert {jupyter_mlplat.models.orm.ModelRow.__tablename__,
            jupyter_mlplat.runs.orm.RunRow.__tablename__} <= set(Base.metadata.tables)
