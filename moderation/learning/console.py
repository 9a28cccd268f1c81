"""The console's model page at /moderate/models (admins): versions, learning curve, threshold what-if, quality."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from moderation.errors import ModerationError
from moderation.extensions import db
from moderation.learning import charts, insights, registry
from moderation.learning.models import HEADS

from moderation.ui.auth import ADMIN_ROLES, load_moderator, requires

bp = Blueprint("learning", __name__, url_prefix="/moderate/models", template_folder="templates")
# The console's login lives on its blueprint's before_request; this page needs the same moderator.
bp.before_request(load_moderator)
_admin = requires(ADMIN_ROLES)


def init_app(app) -> None:
    app.register_blueprint(bp)


def _settings():
    return current_app.extensions["moderation.learning.settings"]


def _model():
    return current_app.extensions["moderation.models"].current


def _now():
    from moderation.core.models import utcnow

    return utcnow()


def _curve_chart(points: list[dict]):
    series = []
    for head in HEADS:
        series.append(charts.Series(_("%(head)s: candidate", head=head),
                                    [(p["labels"], p[f"{head}_candidate"]) for p in points
                                     if p[f"{head}_candidate"] is not None]))
        series.append(charts.Series(_("%(head)s: model in use", head=head),
                                    [(p["labels"], p[f"{head}_current"]) for p in points
                                     if p[f"{head}_current"] is not None], dashed=True))
    labels = {p["labels"]: str(p["labels"]) for p in points}
    return charts.line_chart(series, title=_("ROC-AUC on the newest held-out labels, by number of site labels"),
                             x_labels=labels, y_format="{:.2f}")


def _quality_chart(weeks):
    points = [(n, w.share) for n, w in enumerate(weeks) if w.share is not None]
    labels = {n: f"{w.start:%d/%m}" for n, w in enumerate(weeks) if n % 2 == 0 or n == len(weeks) - 1}
    return charts.line_chart([charts.Series(_("overturned"), points)], x_labels=labels, y_format="{:.0%}",
                             title=_("Share of the model's verdicts overturned by moderators, by week"))


@bp.get("/")
@_admin
def index():
    settings = _settings()
    model = _model()
    thresholds = insights.thresholds_of(getattr(model, "thresholds", None))
    head = request.args.get("head") if request.args.get("head") in HEADS else "spam"
    name = request.args.get("name") if request.args.get("name") in registry.THRESHOLD_NAMES else "flag"
    value = request.args.get("value", type=float)
    value = thresholds[head][name] if value is None or not 0.0 <= value <= 1.0 else value
    policy = current_app.extensions["moderation.intake_settings"].policy
    rows = insights.recent_scored(db.session, _now())
    result = insights.what_if(rows, thresholds, head, name, value, auto_spam=policy.auto_spam,
                              auto_approve=policy.auto_approve)
    weeks = insights.quality_by_week(db.session, _now())
    curve = insights.learning_curve(db.session)
    return render_template(
        "learning/models.html", versions=registry.list_versions(db.session, settings), model=model,
        thresholds=thresholds, whatif=result, heads=HEADS, names=registry.THRESHOLD_NAMES, queues=insights.QUEUES,
        curve=curve, curve_chart=_curve_chart(curve), weeks=weeks, quality_chart=_quality_chart(weeks),
        drift=insights.drift(weeks), policy=policy)


@bp.post("/threshold")
@_admin
def save_threshold():
    head, name = request.form.get("head", ""), request.form.get("name", "")
    value = request.form.get("value", type=float)
    try:
        if value is None:
            raise ModerationError("a threshold needs a number between 0 and 1")
        registry.set_threshold(db.session, head, name, value, by=g.moderator,
                               model_version=getattr(_model(), "version", None), now=_now())
    except ModerationError as error:
        flash(_("Not saved: %(detail)s", detail=error.detail or error.code), "error")
    else:
        flash(_("Threshold %(head)s.%(name)s set to %(value)s; every process applies it within seconds.",
                head=head, name=name, value=f"{value:.3f}"), "info")
    return redirect(url_for("learning.index", head=head, name=name, value=value))


@bp.post("/promote")
@_admin
def promote():
    version = request.form.get("version", "")
    try:
        registry.promote(db.session, version, by=f"moderator:{g.moderator.email}", moderator=g.moderator,
                         now=_now(), settings=_settings(), reason="promoted from the console")
    except ModerationError as error:
        flash(_("Not promoted: %(detail)s", detail=error.detail or error.code), "error")
    else:
        flash(_("%(version)s promoted.", version=version), "info")
    return redirect(url_for("learning.index"))


@bp.post("/rollback")
@_admin
def rollback():
    try:
        promotion = registry.rollback(db.session, by=f"moderator:{g.moderator.email}", moderator=g.moderator,
                                      now=_now(), settings=_settings())
    except ModerationError as error:
        flash(_("Not rolled back: %(detail)s", detail=error.detail or error.code), "error")
    else:
        flash(_("Rolled back to %(version)s.", version=promotion.version), "info")
    return redirect(url_for("learning.index"))
