"""Liveness and readiness probes."""
from __future__ import annotations


def test_healthz_answers_without_the_database(make_app):
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_reports_the_database(client, make_app):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["database"] == "ok"
    down = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none").test_client().get("/readyz")
    assert down.status_code == 503
    assert down.get_json()["checks"]["database"].startswith("unavailable")


def test_readyz_needs_the_model_when_one_is_configured(make_app, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "CURRENT").write_text("missing-version\n")
    app = make_app(LOAD_MODEL=True, MODELS_DIR=str(models))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["model"].startswith("none")
    no_model_dir = tmp_path / "empty"
    no_model_dir.mkdir()
    unscored = make_app(LOAD_MODEL=True, MODELS_DIR=str(no_model_dir)).test_client().get("/readyz")
    assert unscored.status_code == 200
