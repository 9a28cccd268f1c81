"""Every SQLite connection the app opens is set up for concurrent, crash-safe intake."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from moderation.extensions import db
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is not None, reason="SQLite connection settings; PostgreSQL has none of these")


def test_sqlite_connections_use_wal_foreign_keys_and_memory_for_statement_journals(app):
    with app.app_context():
        with db.engine.connect() as connection:
            settings = {name: connection.execute(sa.text(f"PRAGMA {name}")).scalar()
                        for name in ("journal_mode", "synchronous", "foreign_keys", "temp_store")}
    # synchronous 1 = NORMAL; temp_store 2 = MEMORY (no temporary file per multi-row INSERT)
    assert settings == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "temp_store": 2}


@pytest.mark.parametrize(("setting", "megabytes"), [(None, 256), (0, 0), (64, 64)])
def test_sqlite_reads_through_a_memory_map_of_the_configured_size(make_app, setting, megabytes):
    app = make_app() if setting is None else make_app(SQLITE_MMAP_MB=setting)  # None: the shipped default
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("PRAGMA mmap_size")).scalar() == megabytes * 2**20
