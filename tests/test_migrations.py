"""Alembic migrations build the same schema as the models, and come back down, on both databases."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from moderation import create_app
from moderation.extensions import db
from tests.conftest import PG_URL, rebuild_pg_schema


def _migrated_app(tmp_path):
    url = PG_URL or f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    if PG_URL:
        rebuild_pg_schema(build=False)
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
            rebuild_pg_schema()


def test_o001_fills_each_sites_listened_events_from_its_active_endpoints(tmp_path):
    """Sites that had endpoints before o001 keep getting their events (core.outbox writes any other
    type already dispatched); an inactive endpoint listens for nothing."""
    app = _migrated_app(tmp_path)
    directory = app.extensions["migrate"].directory
    try:
        with app.app_context():
            upgrade(directory=directory, revision="i001")
            with db.engine.begin() as connection:
                for site_id, name in ((1, "Avec"), (2, "Sans"), (3, "Éteint")):
                    connection.execute(sa.text(
                        "INSERT INTO sites (id, name, api_key_hash, api_key_prefix, active, created_at) "
                        "VALUES (:id, :name, :hash, 'p', :yes, '2026-12-01 00:00:00')"),
                        {"id": site_id, "name": name, "hash": f"h{site_id}", "yes": True})
                for site_id, types, active in ((1, '["comment.approved"]', True),
                                               (1, '["comment.received", "comment.approved"]', True),
                                               (3, '["comment.spam"]', False)):
                    connection.execute(sa.text(
                        "INSERT INTO webhook_endpoints (site_id, url, event_types, active, include_author_email, "
                        "secret, created_at, updated_at) VALUES (:site, 'https://example.org/h', :types, :active, "
                        ":no, 's', '2026-12-01 00:00:00', '2026-12-01 00:00:00')"),
                        {"site": site_id, "types": types, "active": active, "no": False})
            upgrade(directory=directory, revision="o001")
            with db.engine.connect() as connection:
                rows = connection.execute(sa.text("SELECT id, listened_events FROM sites ORDER BY id")).all()
            listened = {site_id: value if isinstance(value, list) else json.loads(value) for site_id, value in rows}
            assert listened == {1: ["comment.approved", "comment.received"], 2: [], 3: []}
    finally:
        with app.app_context():
            db.engine.dispose()
        if PG_URL:
            rebuild_pg_schema()
