"""create_app(): configuration, extensions, blueprints and error handlers of the moderation service."""
from __future__ import annotations

import datetime as dt
import functools
import inspect

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_smorest import Api
from sqlalchemy import event

from moderation import http_errors, ratelimit
from moderation.config import load_config
from moderation.core.db import serialise_writes
from moderation.extensions import db, limiter, migrate
from moderation.models_holder import ModelHolder


class ProblemApi(Api):
    """flask-smorest documents its default errors as JSON; ours are problem+json."""

    def _register_responses(self):
        import http

        from flask_smorest.utils import prepare_response

        from moderation.api.schemas import Problem

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = Problem
                prepare_response(response, self.spec, "application/problem+json")
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem details (RFC 9457)", "schema": Problem}
        prepare_response(response, self.spec, "application/problem+json")
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class _ModerationFlask(Flask):
    """Flask, remembering which view and hook functions are coroutine functions.

    Flask asks inspect.iscoroutinefunction() of every hook and view on every request (twenty
    times per intake), and the answer never changes for a function. Keyed by the underlying
    function, as a MethodView hands over a new bound method on every request."""

    _MAX_REMEMBERED = 4096

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._is_coroutine: dict = {}

    def ensure_sync(self, func):
        key = getattr(func, "__func__", func)
        is_coroutine = self._is_coroutine.get(key)
        if is_coroutine is None:
            if len(self._is_coroutine) >= self._MAX_REMEMBERED:  # never expected; bounds memory anyway
                self._is_coroutine.clear()
            is_coroutine = self._is_coroutine[key] = inspect.iscoroutinefunction(func)
        return self.async_to_sync(func) if is_coroutine else func


class _NoCookieSessionForApi(SecureCookieSessionInterface):
    """The JSON API authenticates with bearer tokens and never uses the cookie session: skip
    building its signer on every request (a twentieth of an intake's request-side cost)."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _sqlite_pragmas(dbapi_connection, _record, mmap_bytes: int = 0):
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer commits; NORMAL is durable across process crashes in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Statement journals in memory: the intake writer's multi-row INSERTs inside a transaction need
    # one, and past 64 KiB SQLite spilled it to a new temporary file for every batch (strace: a
    # file created, ~30 pages written and deleted per batch; bench/README.md, "Intake").
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
    cursor.close()


# Set on every response unless a view chose otherwise.
_DEFAULT_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))


def create_app(test_config: dict | None = None) -> Flask:
    from moderation.api import comments, health, metrics_view, moderation
    from moderation.core.policy import PolicySettings
    from moderation.core.submissions import IntakeSettings

    app = _ModerationFlask(__name__, instance_relative_config=False)
    app.config.update(load_config(overrides=test_config))
    app.session_interface = _NoCookieSessionForApi()
    app.instance_path = app.config["MODERATION_INSTANCE_DIR"]

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", functools.partial(
                _sqlite_pragmas, mmap_bytes=app.config["MODERATION_SQLITE_MMAP_MB"] * 2**20))
            # Waiting for the write turn is like waiting for a pooled connection: same bound, then 503.
            serialise_writes(db.engine, app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_timeout", 5))
    migrate.init_app(app, db, directory=str(__import__("pathlib").Path(__file__).parent / "migrations"),
                     render_as_batch=True)
    limiter.init_app(app)
    ratelimit.detach_request_hooks(app, limiter)

    api = ProblemApi(app)
    api.register_blueprint(comments.blp)
    api.register_blueprint(moderation.blp)
    from moderation import webhooks

    webhooks.init_app(app, api)
    app.register_blueprint(health.bp)
    from moderation import learning, ui

    ui.init_app(app)
    learning.init_app(app)
    metrics_view.init_app(app)
    http_errors.register(app)

    @app.after_request
    def _api_headers(response):
        # One pass over the headers: Headers.setdefault scans them three times and raises a
        # KeyError (a whole HTTPException) for each header that is missing, as these usually are.
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        headers.extend([(name, value) for name, value in _DEFAULT_HEADERS if name.lower() not in present])
        return response

    holder = ModelHolder()
    if app.config.get("MODERATION_LOAD_MODEL", True):
        holder.load(app.config["MODERATION_MODELS_DIR"], app.config["MODERATION_MODEL_VERSION"],
                    required=app.config["MODERATION_MODEL_REQUIRED"])
    app.extensions["moderation.models"] = holder
    # What this app was built from, so that a child process (moderation.intake_process) builds the same.
    app.extensions["moderation.config_overrides"] = dict(test_config or {})
    app.extensions["moderation.intake_settings"] = IntakeSettings(
        policy=PolicySettings(auto_approve=app.config["MODERATION_AUTO_APPROVE"],
                              auto_spam=app.config["MODERATION_AUTO_SPAM"]),
        flood_interval=dt.timedelta(seconds=app.config["MODERATION_FLOOD_INTERVAL_SECONDS"]),
        scoring_timeout_s=app.config["MODERATION_SCORING_TIMEOUT_MS"] / 1000,
    )
    return app
