"""Alembic migrations build the same schema as the models, and come back down, on both databases."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from moderation import create_app
from moderation.extensions import db
from tests.conftest import PG_URL


def _migrated_app(tmp_path):
    url = PG_URL or f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    if PG_URL:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    return create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path), "LOAD_MODEL": False})


def test_upgrade_from_empty_matches_the_models_and_downgrade_removes_everything(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = _migrated_app(tmp_path)
    directory = app.extensions["migrate"].directory
    try:
        with app.app_context():
            upgrade(directory=directory, revision="heads")
            tables = set(sa.inspect(db.engine).get_table_names())
            assert {"sites", "comments", "decisions", "idempotency_keys", "outbox_events"} <= tables
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
            assert differences == [], differences

            downgrade(directory=directory, revision="base")
            remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert remaining == set()
            upgrade(directory=directory, revision="heads")  # and up again, as a redeploy would
            assert "comments" in sa.inspect(db.engine).get_table_names()
    finally:
        with app.app_context():
            db.engine.dispose()
        if PG_URL:  # leave the shared test database as the other tests expect it
            engine = sa.create_engine(PG_URL)
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
            db.metadata.create_all(engine)
            engine.dispose()
