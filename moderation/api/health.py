"""Liveness and readiness probes."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from moderation.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {}
    ready = True
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unavailable: {type(error).__name__}"
        ready = False
    finally:
        db.session.rollback()
    holder = current_app.extensions["moderation.models"]
    if holder.current is not None:
        checks["model"] = holder.current.version
        pool = current_app.extensions.get("moderation.scoring_pool")
        if pool is not None:  # informative only: while workers load, comments are scored in process
            checks["scoring"] = "worker processes" if pool.holds(holder.current) else "in process (workers loading)"
        elif getattr(holder.scorer, "place", None):
            writer = current_app.extensions.get("moderation.intake_writer")
            running = writer is not None and writer.running
            checks["scoring"] = holder.scorer.place if running else "in process (intake writer not running)"
    else:
        checks["model"] = f"none ({holder.load_error or 'not loaded'})"
        # A shipped model that failed to load is not ready; a deployment without one may run unscored.
        ready = ready and not (holder.expected or current_app.config["MODERATION_MODEL_REQUIRED"])
    writer = current_app.extensions.get("moderation.intake_writer")
    if writer is not None:  # informative only: without a writer, intake writes in the request threads
        checks["intake_writer"] = _writer_state(writer)
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _writer_state(writer) -> str:
    if writer.running:
        return writer.KIND
    if not writer.stopped:
        return f"in request threads (writer {writer.KIND} starting)"
    return "in request threads (writer stopped)"
