"""Webhooks: endpoints, Standard Webhooks signing, the outbox relay worker; depends on core, never the reverse."""
from __future__ import annotations

import atexit


def init_app(app, api) -> None:
    """Register the models and the API; start the in-process worker when MODERATION_WEBHOOK_WORKER is on."""
    from moderation.webhooks import api as webhooks_api
    from moderation.webhooks import models  # noqa: F401  (tables known to metadata and migrations)
    from moderation.webhooks.settings import load_settings, raw_value
    from moderation.webhooks.worker import install_commit_hooks

    api.register_blueprint(webhooks_api.blp)
    install_commit_hooks()
    settings = load_settings(app.config)  # fail at start on a bad schedule or network list
    app.extensions["moderation.webhooks.settings"] = settings
    if raw_value(app.config, "WEBHOOK_WORKER"):
        start_worker(app)


def start_worker(app):
    """Start the in-process worker (what `moderation serve` does once the schema is up to date)."""
    from moderation.webhooks.worker import Worker

    if "moderation.webhooks.worker" not in app.extensions:
        worker = Worker(app, app.extensions["moderation.webhooks.settings"]).start()
        app.extensions["moderation.webhooks.worker"] = worker
        atexit.register(worker.stop, 2.0)
    return app.extensions["moderation.webhooks.worker"]
