"""Intake of comments, their status for the site, and the public threads of articles."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.urls import iri_to_uri

from moderation.api.comment_loading import load_comment
from moderation.api.schemas import (
    CommentIn,
    Problem,
    Receipt,
    ReportIn,
    ReportOut,
    SiteComment,
    ThreadPage,
    ThreadQuery,
)
from moderation.core import queries, reports, submissions
from moderation.core.sites import authenticate_site
from moderation.errors import FieldErrors, MalformedJson
from moderation.extensions import db, limiter
from moderation.http_errors import flatten_messages
from moderation.intake_writer import current_writer
from moderation.ratelimit import hit_intake_limit


class ProblemParser(FlaskParser):
    """Hands validation failures to the one error translator instead of webargs' own 422 body."""

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        raise FieldErrors(flatten_messages(error.messages))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise MalformedJson("the request body is not valid JSON")


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ProblemParser()


blp = ApiBlueprint("comments", __name__, url_prefix="/api/v1", description="Comments of the site's articles")
PROBLEM = {"schema": Problem, "content_type": "application/problem+json"}
JSON_TYPES = ("application/json",)


@blp.before_request
def authenticate():
    current = request._get_current_object()  # each proxy look-up costs: once here
    header = current.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    g.site = authenticate_site(db.session, token.strip() if scheme.lower() == "bearer" else None)
    if current.method == "POST":
        mimetype = current.mimetype
        if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
            raise UnsupportedMediaType()
        length = current.content_length
        if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge()


# What a URI path may hold as it is: werkzeug's IRI-to-URI conversion would leave it unchanged.
_PLAIN_URI_PATH = re.compile(r"[A-Za-z0-9/._~-]*")


class ReceiptResponse(Response):
    """The 202 of an intake, with the comment's address as its Location.

    Werkzeug converts a Location found in the headers from an IRI to a URI as the response starts,
    splitting and quoting it again: a tenth of the view's CPU (bench/intake_inprocess.py). The
    address is kept out of the headers until then and added as it is when it is plain URI
    characters (the usual script root and path); otherwise converted the same way."""

    def __init__(self, body: str, status: int, location: str) -> None:
        super().__init__(body, status=status, mimetype="application/json")
        self.receipt_location = location

    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        location = self.receipt_location
        headers["Location"] = location if _PLAIN_URI_PATH.fullmatch(location) else iri_to_uri(location)
        return headers


def _receipt(comment) -> tuple[int, str]:
    # Written by hand (Receipt documents it): marshmallow's dump cost a twentieth of an intake.
    return 202, json.dumps({"id": comment.id, "status": comment.status.value, "version": comment.version,
                            "created_at": comment.created_at.isoformat()})


def _load_comment() -> tuple[object, dict]:
    """The posted JSON and its validated fields.

    Parsed here rather than by @blp.arguments: webargs' per-request set-up was a seventh of an
    intake's cost (bench/intake.py); the body is documented with the same schema below, and
    load_comment gives what CommentIn would."""
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError as error:  # also covers bytes that are not UTF-8
        raise MalformedJson("the request body is not valid JSON") from error
    try:
        return payload, load_comment(payload)
    except ValidationError as error:
        raise FieldErrors(flatten_messages(error.messages)) from error


def documented(*decorators):
    """flask-smorest's decorators applied for the OpenAPI document only: the view runs without
    their wrappers (ten nested calls per intake, each looking up the app). For a view that returns
    its Response itself, which those wrappers pass through untouched."""

    def document(view):
        wrapped = view
        for decorator in reversed(decorators):
            wrapped = decorator(wrapped)
        view._apidoc = wrapped._apidoc
        return view

    return document


@blp.route("/comments")
class Comments(MethodView):
    @documented(
        blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": CommentIn}}}),
        blp.response(202, Receipt, description="Accepted; the comment is stored and awaits its fate."),
        blp.alt_response(400, description="Malformed JSON", **PROBLEM),
        blp.alt_response(401, description="Missing or wrong API key", **PROBLEM),
        blp.alt_response(409, description="Duplicate comment, or the same Idempotency-Key is in flight", **PROBLEM),
        blp.alt_response(413, description="Body over 64 KiB", **PROBLEM),
        blp.alt_response(415, description="Not JSON", **PROBLEM),
        blp.alt_response(422, description="Invalid fields, or Idempotency-Key reused with another body", **PROBLEM),
        blp.alt_response(429, description="Flood or rate limit; see Retry-After", **PROBLEM),
        blp.alt_response(503, description="Database unavailable; see Retry-After", **PROBLEM),
        blp.doc(parameters=[{
            "in": "header", "name": "Idempotency-Key", "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Retries with the same key and body return the first response (kept 24 h).",
        }]),
    )
    def post(self):
        """Submit a reader's comment for moderation."""
        # Each proxy look-up costs: once here.
        app, current, site = current_app._get_current_object(), request._get_current_object(), g.site
        config = app.config
        hit_intake_limit(limiter, config["MODERATION_RATELIMIT_INTAKE"], site.id)
        payload, data = _load_comment()
        outcome = submissions.accept_comment(
            db.session, site, data,
            scorer=app.extensions["moderation.models"].scorer,
            settings=app.extensions["moderation.intake_settings"],
            now=dt.datetime.now(dt.timezone.utc),
            idempotency_key=current.headers.get("Idempotency-Key"),
            raw_payload=payload,
            ttl=dt.timedelta(hours=config["MODERATION_IDEMPOTENCY_TTL_HOURS"]),
            render=_receipt,
            writer=current_writer(app),
        )
        if outcome.replay is not None:
            response = Response(outcome.replay.body, status=outcome.replay.status, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        comment = outcome.comment
        status, body = _receipt(comment)
        return ReceiptResponse(body, status, f"{current.script_root}{blp.url_prefix}/comments/{comment.id}")


@blp.route("/comments/<int:comment_id>")
class CommentById(MethodView):
    @blp.response(200, SiteComment)
    @blp.alt_response(401, description="Missing or wrong API key", **PROBLEM)
    @blp.alt_response(404, description="No such comment for this site", **PROBLEM)
    @blp.alt_response(503, description="Database unavailable", **PROBLEM)
    def get(self, comment_id):
        """The comment as the site sees it, with its moderation status."""
        comment = queries.get_comment(db.session, g.site, comment_id)
        return {
            **{k: getattr(comment, k) for k in SiteComment().fields if k != "moderation"},
            "moderation": {
                "spam": comment.spam_score, "abuse": comment.abuse_score,
                "language": comment.detected_language, "model": comment.model_version,
                "unscored_reason": comment.unscored_reason, "reasons": comment.reasons or [],
            },
        }


@blp.route("/articles/<string:article_id>/comments")
class ArticleThread(MethodView):
    @blp.arguments(ThreadQuery, location="query")
    @blp.response(200, ThreadPage)
    @blp.alt_response(304, description="Not modified (ETag matched)")
    @blp.alt_response(401, description="Missing or wrong API key", **PROBLEM)
    @blp.alt_response(422, description="Invalid cursor or limit", **PROBLEM)
    @blp.alt_response(503, description="Database unavailable", **PROBLEM)
    def get(self, query, article_id):
        """Published comments of an article, threaded by parent, oldest first, with a cursor."""
        page = queries.list_published_thread(db.session, g.site, article_id, query["cursor"], query["limit"])
        body = ThreadPage().dumps({"article_id": article_id, **page.__dict__})
        etag = hashlib.sha256(body.encode()).hexdigest()[:32]
        if request.if_none_match.contains(etag):
            response = Response(status=304)
        else:
            response = Response(body, status=200, mimetype="application/json")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "private, no-cache"
        return response


@blp.route("/comments/<int:comment_id>/reports")
class CommentReports(MethodView):
    @blp.arguments(ReportIn)
    @blp.response(201, ReportOut)
    @blp.alt_response(401, description="Missing or wrong API key", **PROBLEM)
    @blp.alt_response(404, description="No such published comment", **PROBLEM)
    @blp.alt_response(415, description="Not JSON", **PROBLEM)
    @blp.alt_response(422, description="Invalid report", **PROBLEM)
    @blp.alt_response(503, description="Database unavailable", **PROBLEM)
    def post(self, data, comment_id):
        """A reader reports a published comment; enough reports send it to the reported queue."""
        comment, entered = reports.report_comment(
            db.session, g.site, comment_id, reason=data["reason"], detail=data["detail"],
            reporter_ip=data["reporter_ip"], now=dt.datetime.now(dt.timezone.utc),
        )
        return {"comment_id": comment.id, "in_reported_queue": comment.reported_at is not None}
