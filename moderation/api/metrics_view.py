"""GET /metrics: Prometheus text format for the process and the queues."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from moderation.core.db import reading
from moderation.core.queues import count_queues_exact, oldest_pending
from moderation.extensions import db
from moderation.metrics import QueueCollector

bp = Blueprint("metrics", __name__)
_registered = False


def _backlog():
    # Scrapes come from a thread with no app context; the collector is bound to one app.
    with _app.app_context():
        with reading(db.session):
            counts = count_queues_exact(db.session)
        oldest = oldest_pending(db.session)
        age = (dt.datetime.now(dt.timezone.utc) - oldest).total_seconds() if oldest else 0.0
        return counts, age


_app = None


def init_app(app) -> None:
    global _registered, _app
    _app = app
    if not _registered:  # one collector per process, reading whichever app came last (tests make many)
        REGISTRY.register(QueueCollector(_backlog))
        _registered = True
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
