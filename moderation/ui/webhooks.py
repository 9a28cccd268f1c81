"""Admin pages of the webhooks: endpoints, their deliveries, redelivery and test events.

Every change goes through moderation.webhooks.endpoints (site_id None: the console sees every site).
"""
from __future__ import annotations

import datetime as dt
import json

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext, ngettext

from moderation.core.administration import record_audit
from moderation.core.sites import list_sites
from moderation.errors import FieldErrors, ModerationError
from moderation.extensions import db
from moderation.ui import bp
from moderation.ui.admin import _failed
from moderation.ui.auth import ADMIN_ROLES, now, requires
from moderation.webhooks import endpoints
from moderation.webhooks.models import DELIVERY_STATUSES, EVENT_TYPES
from moderation.webhooks.settings import raw_value

PAGE_SIZE = 50
RANGE_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends, read as UTC
STATUS_LABELS = {
    "pending": lazy_gettext("waiting"),
    "delivering": lazy_gettext("being sent"),
    "delivered": lazy_gettext("delivered"),
    "failed": lazy_gettext("failed"),
}


def _audit(action: str, endpoint_id: int, **details) -> None:
    record_audit(db.session, by=g.moderator, action=action, target=f"webhook:{endpoint_id}", details=details,
                 now=now())


def _endpoints_page(**shown):
    sites = list_sites(db.session)
    return render_template("console/admin/webhooks.html", endpoints=endpoints.list_endpoints(db.session, None),
                           sites=sites, site_names={s.id: s.name for s in sites}, event_types=EVENT_TYPES, **shown)


@bp.get("/admin/webhooks")
@requires(ADMIN_ROLES)
def webhooks():
    return _endpoints_page()


@bp.post("/admin/webhooks")
@requires(ADMIN_ROLES)
def webhook_add():
    form = request.form
    site_id = form.get("site_id", type=int)
    try:
        if site_id is None:
            raise FieldErrors({"site_id": ["required"]})
        endpoint, secret = endpoints.add_endpoint(
            db.session, site_id, form.get("url", ""), event_types=form.getlist("event_types"),
            include_author_email=form.get("include_author_email") == "1", now=now())
    except ModerationError as error:
        _failed(error)
        return redirect(url_for("console.webhooks"))
    _audit("webhook.added", endpoint.id, url=endpoint.url, event_types=endpoint.event_types,
           include_author_email=endpoint.include_author_email)
    # Shown in this response only: it is never listed again.
    return _endpoints_page(new_secret=secret, new_for=endpoint.url)


@bp.post("/admin/webhooks/<int:endpoint_id>/rotate")
@requires(ADMIN_ROLES)
def webhook_rotate(endpoint_id: int):
    grace = dt.timedelta(hours=int(raw_value(current_app.config, "WEBHOOK_ROTATION_GRACE_HOURS")))
    endpoint, secret = endpoints.rotate_secret(db.session, endpoint_id, site_id=None, now=now(), grace=grace)
    _audit("webhook.secret_rotated", endpoint_id)
    return _endpoints_page(new_secret=secret, new_for=endpoint.url, grace_hours=int(grace.total_seconds() // 3600))


@bp.post("/admin/webhooks/<int:endpoint_id>/active")
@requires(ADMIN_ROLES)
def webhook_active(endpoint_id: int):
    active = request.form.get("active") == "1"
    endpoints.update_endpoint(db.session, endpoint_id, site_id=None, now=now(), active=active)
    _audit("webhook.enabled" if active else "webhook.disabled", endpoint_id)
    flash(_("Endpoint enabled: its waiting deliveries will be sent.") if active else _("Endpoint disabled."), "info")
    return redirect(url_for("console.webhooks"))


@bp.post("/admin/webhooks/<int:endpoint_id>/test")
@requires(ADMIN_ROLES)
def webhook_test(endpoint_id: int):
    endpoint = endpoints.get_endpoint(db.session, endpoint_id, None)
    endpoints.send_test_event(db.session, endpoint_id, site_id=None, now=now())
    _audit("webhook.test_sent", endpoint_id)
    if endpoint.active:
        flash(_("Test event queued: it appears below once sent."), "info")
    else:
        flash(_("Test event queued: it will be sent once the endpoint is enabled."), "info")
    return redirect(url_for("console.webhook_deliveries", endpoint_id=endpoint_id))


def _event_type(body: str) -> str:
    try:
        return str(json.loads(body).get("type", ""))
    except (ValueError, AttributeError):
        return ""


def _range_default(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime(RANGE_FORMAT)


@bp.get("/admin/webhooks/<int:endpoint_id>/deliveries")
@requires(ADMIN_ROLES)
def webhook_deliveries(endpoint_id: int):
    endpoint = endpoints.get_endpoint(db.session, endpoint_id, None)
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATUSES else None
    before = request.args.get("before", type=int)
    before = before if before and before > 0 else None
    rows = endpoints.list_deliveries(db.session, endpoint_id, site_id=None, status=status, limit=PAGE_SIZE + 1,
                                     before_id=before)
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    site_names = {s.id: s.name for s in list_sites(db.session)}
    moment = now()
    return render_template("console/admin/webhook_deliveries.html", endpoint=endpoint, deliveries=rows,
                           event_types={d.id: _event_type(d.body) for d in rows}, statuses=DELIVERY_STATUSES,
                           status_labels=STATUS_LABELS,
                           status=status, before=before, older=older, site_name=site_names.get(endpoint.site_id),
                           range_since=_range_default(moment - dt.timedelta(days=1)),
                           range_until=_range_default(moment + dt.timedelta(minutes=1)))


@bp.post("/admin/webhooks/deliveries/<int:delivery_id>/redeliver")
@requires(ADMIN_ROLES)
def webhook_redeliver(delivery_id: int):
    delivery = endpoints.redeliver(db.session, delivery_id, site_id=None, now=now())
    endpoint_id = delivery.endpoint_id
    if delivery.status == "delivering":
        flash(_("This delivery is being attempted right now: it was left alone."), "error")
    else:
        _audit("webhook.redelivered", endpoint_id, delivery_id=delivery_id)
        flash(_("Delivery queued to be sent again."), "info")
    return redirect(url_for("console.webhook_deliveries", endpoint_id=endpoint_id))


def _moment(name: str) -> dt.datetime | None:
    raw = (request.form.get(name) or "").strip()[:40]
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


@bp.post("/admin/webhooks/<int:endpoint_id>/redeliver-failed")
@requires(ADMIN_ROLES)
def webhook_redeliver_failed(endpoint_id: int):
    since, until = _moment("since"), _moment("until")
    if since is None or until is None or since >= until:
        flash(_("Give a start and an end, the start before the end."), "error")
    else:
        count = endpoints.redeliver_failed(db.session, endpoint_id, since, until, site_id=None, now=now())
        _audit("webhook.redelivered_failed", endpoint_id, since=since.isoformat(), until=until.isoformat(),
               count=count)
        flash(ngettext("%(num)s failed delivery queued to be sent again.",
                       "%(num)s failed deliveries queued to be sent again.", count), "info")
    return redirect(url_for("console.webhook_deliveries", endpoint_id=endpoint_id))
