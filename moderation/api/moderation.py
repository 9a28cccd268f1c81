"""The console's actions on the JSON API, for integrations, with a moderator's personal token."""
from __future__ import annotations

import datetime as dt

from flask import g, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from moderation.api.comments import PROBLEM, ApiBlueprint
from moderation.core import queues, review, rules
from moderation.core.moderators import moderator_for_token
from moderation.core.reasons import REJECTION_REASONS
from moderation.core.status import CommentStatus
from moderation.extensions import db

blp = ApiBlueprint("moderation", __name__, url_prefix="/api/v1", description="Moderation (moderator tokens)")


@blp.before_request
def authenticate_moderator():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    g.moderator = moderator_for_token(db.session, token.strip() if scheme.lower() == "bearer" else None)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ExplanationTerm(Schema):
    term = fields.String()
    weight = fields.Float()


class ModeratedComment(Schema):
    """A comment as moderators see it: private fields included (never served to the public)."""

    id = fields.Integer()
    site_id = fields.Integer()
    article_id = fields.String()
    article_title = fields.String(allow_none=True)
    article_url = fields.String(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    author_name = fields.String()
    author_email = fields.String()
    author_ip = fields.String(allow_none=True)
    content = fields.String()
    status = fields.Enum(CommentStatus, by_value=True)
    version = fields.Integer()
    spam_score = fields.Float(allow_none=True)
    abuse_score = fields.Float(allow_none=True)
    detected_language = fields.String(allow_none=True)
    model_version = fields.String(allow_none=True)
    explanation = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ExplanationTerm)), allow_none=True)
    reasons = fields.List(fields.Dict())
    created_at = fields.DateTime()
    reported_at = fields.DateTime(allow_none=True)


class DecisionOut(Schema):
    actor = fields.String()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason_code = fields.String(allow_none=True)
    note_to_author = fields.String(allow_none=True)
    spam_score = fields.Float(allow_none=True)
    abuse_score = fields.Float(allow_none=True)
    model_version = fields.String(allow_none=True)
    created_at = fields.DateTime()


class CommentWithHistory(Schema):
    comment = fields.Nested(ModeratedComment)
    parent = fields.Nested(ModeratedComment, allow_none=True)
    history = fields.List(fields.Nested(DecisionOut))
    author = fields.Dict()


class QueueArgs(Schema):
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=25, validate=validate.Range(1, 200, error="limit_range|200"))
    likely_spam = fields.Boolean(load_default=False)
    likely_abusive = fields.Boolean(load_default=False)
    language = fields.String(load_default=None)
    article_id = fields.String(load_default=None)
    q = fields.String(load_default=None, metadata={"description": "Text search in the comment"})
    author = fields.String(load_default=None)
    email = fields.String(load_default=None)
    ip = fields.String(load_default=None)
    since = fields.AwareDateTime(load_default=None, default_timezone=dt.timezone.utc)
    until = fields.AwareDateTime(load_default=None, default_timezone=dt.timezone.utc)


class QueuePageOut(Schema):
    queue = fields.String()
    comments = fields.List(fields.Nested(ModeratedComment))
    next_cursor = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class DecisionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(review.ACTIONS, error="invalid"),
                           error_messages={"required": "required"})
    reason = fields.String(load_default=None, validate=validate.OneOf(REJECTION_REASONS, error="invalid"))
    note = fields.String(load_default=None, validate=validate.Length(max=2000, error="too_long|2000"))
    version = fields.Integer(load_default=None, strict=True)


class BulkIn(Schema):
    ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(1, 1000, error="invalid"))
    action = fields.String(required=True, validate=validate.OneOf(review.ACTIONS, error="invalid"))
    reason = fields.String(load_default=None, validate=validate.OneOf(REJECTION_REASONS, error="invalid"))
    note = fields.String(load_default=None)


class BulkOut(Schema):
    done = fields.List(fields.Integer())
    skipped = fields.List(fields.Dict())


class RuleIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(rules.TERM_KINDS + rules.LIST_KINDS, error="invalid"))
    value = fields.String(required=True, validate=validate.Length(1, 255, error="too_long|255"))
    target = fields.String(load_default=None, validate=validate.OneOf(rules.TARGETS, error="invalid"))
    site_id = fields.Integer(load_default=None)
    note = fields.String(load_default=None)


class RuleOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    value = fields.String()
    target = fields.String(allow_none=True)
    site_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


COMMON = [(401, "Missing or unknown moderator token"), (403, "Role does not allow this"), (503, "Database unavailable")]


def _document(view):
    for status, text in COMMON:
        view = blp.alt_response(status, description=text, **PROBLEM)(view)
    return view


@blp.route("/queues/<string:name>")
class Queue(MethodView):
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, QueuePageOut)
    @blp.alt_response(404, description="No such queue", **PROBLEM)
    @blp.alt_response(422, description="Invalid filter", **PROBLEM)
    @_document
    def get(self, args, name):
        """A page of a queue (pending, reported, spam, approved, rejected) with counts."""
        flt = queues.QueueFilter(likely_spam=args["likely_spam"], likely_abusive=args["likely_abusive"],
                                 language=args["language"], article_id=args["article_id"], text=args["q"],
                                 author=args["author"], email=args["email"], ip=args["ip"],
                                 since=args["since"], until=args["until"])
        page = queues.list_queue(db.session, name, flt, cursor=args["cursor"], limit=args["limit"])
        return {"queue": name, "comments": page.comments, "next_cursor": page.next_cursor, "counts": page.counts}


@blp.route("/moderation/comments/<int:comment_id>")
class ModeratedCommentView(MethodView):
    @blp.response(200, CommentWithHistory)
    @blp.alt_response(404, description="No such comment", **PROBLEM)
    @_document
    def get(self, comment_id):
        """A comment with its parent, its history of decisions and its author's record."""
        context = queues.get_comment_context(db.session, comment_id)
        return {"comment": context.comment, "parent": context.parent, "history": context.history,
                "author": {**context.author, "first_seen": context.author["first_seen"].isoformat()
                           if context.author["first_seen"] else None}}


@blp.route("/comments/<int:comment_id>/decision")
class Decide(MethodView):
    @blp.arguments(DecisionIn)
    @blp.response(200, ModeratedComment)
    @blp.alt_response(404, description="No such comment", **PROBLEM)
    @blp.alt_response(409, description="Stale version or transition not allowed", **PROBLEM)
    @blp.alt_response(422, description="Invalid decision", **PROBLEM)
    @_document
    def post(self, data, comment_id):
        """Approve, reject (with a reason), mark as spam or not spam, or restore a comment."""
        request_ = review.DecisionRequest(data["action"], data["reason"], data["note"], data["version"])
        return review.decide_comment(db.session, comment_id, request_, moderator=g.moderator, now=now())


@blp.route("/decisions/bulk")
class Bulk(MethodView):
    @blp.arguments(BulkIn)
    @blp.response(200, BulkOut)
    @blp.alt_response(422, description="Invalid decision", **PROBLEM)
    @_document
    def post(self, data):
        """The same decision on many comments; the answer says what was done and what was skipped."""
        summary = review.decide_many(db.session, data["ids"], review.DecisionRequest(data["action"], data["reason"],
                                     data["note"]), moderator=g.moderator, now=now())
        return {"done": summary.done, "skipped": summary.skipped}


@blp.route("/rules")
class Rules(MethodView):
    @blp.response(200, RuleOut(many=True))
    @_document
    def get(self):
        """Blocked and watched terms, ban and allow lists."""
        return rules.list_rules(db.session)

    @blp.arguments(RuleIn)
    @blp.response(201, RuleOut)
    @blp.alt_response(422, description="Invalid rule", **PROBLEM)
    @_document
    def post(self, data):
        """Add a rule (admins)."""
        return rules.add_rule(db.session, by=g.moderator, now=now(), **data)


@blp.route("/rules/<int:rule_id>")
class RuleById(MethodView):
    @blp.response(204)
    @blp.alt_response(404, description="No such rule", **PROBLEM)
    @_document
    def delete(self, rule_id):
        """Remove a rule (admins)."""
        rules.remove_rule(db.session, rule_id, by=g.moderator, now=now())
