"""JSON API on /api/v1/webhooks: a site registers its own endpoints and inspects their deliveries."""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from flask.views import MethodView

from moderation.api.comments import PROBLEM, ApiBlueprint
from moderation.core.sites import authenticate_site
from moderation.extensions import db
from moderation.webhooks import endpoints
from moderation.webhooks.schemas import (
    DeliveriesQuery, DeliveryOut, EndpointIn, EndpointOut, EndpointPatch, EndpointWithSecret, Requeued, TimeRange,
)
from moderation.webhooks.settings import raw_value

blp = ApiBlueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                   description="Webhook endpoints of the site and their deliveries (Standard Webhooks)")
PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing or wrong API key",
    404: "No such endpoint or delivery for this site",
    415: "Not JSON",
    422: "Invalid fields",
    503: "Database unavailable; see Retry-After",
}


def problems(*statuses: int):
    """Document the problem+json answers a view can give (401 and 503 apply to every view)."""

    def decorate(view):
        for status in sorted({401, 503, *statuses}):
            view = blp.alt_response(status, description=PROBLEM_DESCRIPTIONS[status], **PROBLEM)(view)
        return view

    return decorate


@blp.before_request
def authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    g.site = authenticate_site(db.session, token.strip() if scheme.lower() == "bearer" else None)
    if request.method in ("POST", "PATCH") and request.content_length:
        if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
            from werkzeug.exceptions import UnsupportedMediaType

            raise UnsupportedMediaType()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _with_secret(endpoint, secret: str) -> dict:
    return {**{name: getattr(endpoint, name) for name in EndpointOut().fields}, "secret": secret}


@blp.route("/endpoints")
class Endpoints(MethodView):
    @blp.response(200, EndpointOut(many=True))
    @problems()
    def get(self):
        """The site's endpoints (secrets are never listed)."""
        return endpoints.list_endpoints(db.session, g.site.id)

    @blp.arguments(EndpointIn)
    @blp.response(201, EndpointWithSecret, description="Created; the secret is shown only in this answer.")
    @problems(400, 415, 422)
    def post(self, data):
        """Register an endpoint that receives the chosen events, signed with its own secret."""
        endpoint, secret = endpoints.add_endpoint(db.session, g.site.id, data["url"], event_types=data["event_types"],
                                                  active=data["active"],
                                                  include_author_email=data["include_author_email"], now=_now())
        return _with_secret(endpoint, secret)


@blp.route("/endpoints/<int:endpoint_id>")
class EndpointById(MethodView):
    @blp.response(200, EndpointOut)
    @problems(404)
    def get(self, endpoint_id):
        """One endpoint, with why it was disabled if it was."""
        return endpoints.get_endpoint(db.session, endpoint_id, g.site.id)

    @blp.arguments(EndpointPatch)
    @blp.response(200, EndpointOut)
    @problems(400, 404, 415, 422)
    def patch(self, data, endpoint_id):
        """Change the URL, event types, e-mail inclusion, or (re-)activate the endpoint."""
        return endpoints.update_endpoint(db.session, endpoint_id, site_id=g.site.id, now=_now(), **data)


@blp.route("/endpoints/<int:endpoint_id>/rotate-secret", methods=["POST"])
@blp.response(200, EndpointWithSecret, description="The new secret, shown only in this answer.")
@problems(404)
def rotate_secret(endpoint_id):
    """New secret; the previous one keeps signing alongside it during the grace period."""
    grace = dt.timedelta(hours=int(raw_value(current_app.config, "WEBHOOK_ROTATION_GRACE_HOURS")))
    endpoint, secret = endpoints.rotate_secret(db.session, endpoint_id, site_id=g.site.id, now=_now(), grace=grace)
    return _with_secret(endpoint, secret)


@blp.route("/endpoints/<int:endpoint_id>/deliveries")
@blp.arguments(DeliveriesQuery, location="query")
@blp.response(200, DeliveryOut(many=True))
@problems(404, 422)
def deliveries(query, endpoint_id):
    """Newest deliveries first: status, attempts, last response code, latency and body excerpt."""
    return endpoints.list_deliveries(db.session, endpoint_id, site_id=g.site.id, **query)


@blp.route("/endpoints/<int:endpoint_id>/redeliver-failed", methods=["POST"])
@blp.arguments(TimeRange)
@blp.response(202, Requeued)
@problems(400, 404, 415, 422)
def redeliver_failed(data, endpoint_id):
    """Send again every failed delivery whose event happened in [since, until)."""
    count = endpoints.redeliver_failed(db.session, endpoint_id, data["since"], data["until"],
                                       site_id=g.site.id, now=_now())
    return {"count": count}


@blp.route("/endpoints/<int:endpoint_id>/test", methods=["POST"])
@blp.response(202, DeliveryOut)
@problems(404)
def send_test(endpoint_id):
    """Queue a `webhook.test` event for this endpoint only."""
    return endpoints.send_test_event(db.session, endpoint_id, site_id=g.site.id, now=_now())


@blp.route("/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@blp.response(202, DeliveryOut)
@problems(404)
def redeliver(delivery_id):
    """Send one delivery again, with the same webhook-id."""
    return endpoints.redeliver(db.session, delivery_id, site_id=g.site.id, now=_now())
