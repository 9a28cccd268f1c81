"""Shape-only marshmallow schemas; errors are message codes that moderation.api.messages localises."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from email_validator import EmailNotValidError
from flask import current_app
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, pre_load

from moderation.api.email_address import normalised_email
from moderation.api.ip_address import normalised_ip
from moderation.core.queries import MAX_ID
from moderation.core.reports import REPORT_REASONS
from moderation.core.status import CommentStatus

# Lengths follow WordPress's own comment limits.
MAX_NAME, MAX_EMAIL, MAX_URL, MAX_CONTENT = 245, 100, 200, 65525
# Everything in Unicode category Cc except tab and newline (carriage returns are normalised first).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def not_blank(value: str) -> None:
    # Reported with the missing fields, as the site's own form does: blank is as good as absent.
    if not value.strip():
        raise ValidationError("required")


NOT_BLANK = {"minLength": 1, "pattern": r"\S"}


def _required_str(metadata: dict | None = None, **kwargs):
    return fields.String(
        metadata={**NOT_BLANK, **(metadata or {})},
        required=True,
        validate=not_blank,
        error_messages={"required": "required", "null": "required", "invalid": "not_a_string"},
        **kwargs,
    )


def _optional_str(**kwargs):
    return fields.String(load_default=None, allow_none=True, error_messages={"invalid": "not_a_string"}, **kwargs)


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError("url_scheme")


# The longest value of each text field; WordPress's where it has one.
FIELD_LIMITS = {
    "article_id": 200, "author_name": MAX_NAME, "author_email": MAX_EMAIL, "content": MAX_CONTENT,
    "article_url": MAX_URL, "article_title": 500, "author_url": MAX_URL, "author_ip": 45,
    "referrer": 2048, "language": 16,
}


def normalise_text(value: str) -> str:
    """Browsers send textarea line breaks as CRLF; store plain newlines, NFC-composed."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))


def check_comment(data: dict) -> dict:
    """CommentIn's checks once its fields have their types: lengths, control characters, URLs, IP, e-mail.

    A plain function, so that moderation.api.comment_loading runs the very same checks without marshmallow."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, code: str) -> None:
        errors.setdefault(field, []).append(code)

    for name in ("article_id", "author_name", "author_email", "content"):
        data[name] = data[name].strip()
    for name, value in list(data.items()):
        if isinstance(value, str):
            if CONTROL_CHARS.search(value):
                fail(name, "control_chars")
            elif name in FIELD_LIMITS and len(value) > FIELD_LIMITS[name]:
                fail(name, f"too_long|{FIELD_LIMITS[name]}")
    for name in ("author_url", "article_url"):
        if data.get(name) and name not in errors:
            try:
                _http_url(data[name])
            except ValidationError:
                fail(name, "url_scheme")
    if data.get("author_ip") and "author_ip" not in errors:
        try:
            data["author_ip"] = normalised_ip(data["author_ip"])
        except ValueError:
            fail("author_ip", "invalid_ip")
    if data.get("author_user_agent"):
        data["author_user_agent"] = data["author_user_agent"][:255]
    if data["author_email"] and "author_email" not in errors:
        try:
            data["author_email"] = normalised_email(
                data["author_email"], check_deliverability=current_app.config["MODERATION_EMAIL_CHECK_DELIVERABILITY"])
        except EmailNotValidError:
            fail("author_email", "invalid_email")
    if data.get("parent_id") is not None and not 1 <= data["parent_id"] <= MAX_ID:
        fail("parent_id", "not_an_integer")
    if errors:
        raise ValidationError(errors)
    return data


class CommentIn(Schema):
    """What the site posts: named like WordPress's comment REST API fields."""

    class Meta:
        unknown = RAISE

    article_id = _required_str(metadata={"description": "The site's post id or slug.", "maxLength": 200})
    author_name = _required_str(metadata={"maxLength": MAX_NAME})
    author_email = _required_str(metadata={"description": "Never published.", "maxLength": MAX_EMAIL, "format": "email"})
    content = _required_str(metadata={"maxLength": MAX_CONTENT})
    article_url = _optional_str(metadata={"maxLength": MAX_URL, "format": "uri", "pattern": "^https?://"})
    article_title = _optional_str(metadata={"maxLength": 500})
    parent_id = fields.Integer(
        load_default=None, allow_none=True, strict=True, error_messages={"invalid": "not_an_integer"},
        metadata={"description": "Id of the comment this one replies to (same article).", "minimum": 1, "maximum": MAX_ID},
    )
    author_url = _optional_str(metadata={"maxLength": MAX_URL, "format": "uri", "pattern": "^https?://"})
    author_ip = _optional_str(metadata={"maxLength": 45, "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})
    author_user_agent = _optional_str(metadata={"maxLength": 255})
    referrer = _optional_str(metadata={"maxLength": 2048})
    language = _optional_str(metadata={"maxLength": 16})

    @pre_load
    def _normalise(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("invalid_body", "_schema")
        return {key: normalise_text(value) if isinstance(value, str) else value for key, value in data.items()}

    @post_load
    def _check(self, data, **kwargs):
        return check_comment(data)


class Receipt(Schema):
    """The 202 answer: the comment's id and where it stands."""

    id = fields.Integer(required=True)
    status = fields.Enum(CommentStatus, by_value=True, required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class Moderation(Schema):
    spam = fields.Float(allow_none=True)
    abuse = fields.Float(allow_none=True)
    language = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    unscored_reason = fields.String(allow_none=True)
    reasons = fields.List(fields.Dict())


class SiteComment(Schema):
    """The comment as the site sees it; never the e-mail, IP or user agent."""

    id = fields.Integer(required=True)
    article_id = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True)
    author_name = fields.String(required=True)
    author_url = fields.String(allow_none=True)
    content = fields.String(required=True)
    status = fields.Enum(CommentStatus, by_value=True, required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True)
    moderation = fields.Nested(Moderation)


class PublicComment(Schema):
    """A published comment in an article's thread: what any reader may see."""

    id = fields.Integer(required=True)
    parent_id = fields.Integer(allow_none=True)
    author_name = fields.String(required=True)
    author_url = fields.String(allow_none=True)
    content = fields.String(required=True)
    language = fields.String(allow_none=True)
    published_at = fields.DateTime(required=True)
    replies = fields.List(fields.Nested(lambda: PublicComment()), required=True)


class ThreadPage(Schema):
    article_id = fields.String(required=True)
    comments = fields.List(fields.Nested(PublicComment), required=True)
    next_cursor = fields.String(allow_none=True)
    total_published = fields.Integer(required=True)


class ThreadQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    cursor = fields.String(load_default=None, error_messages={"invalid": "invalid"})
    limit = fields.Integer(load_default=50, validate=lambda n: 1 <= n <= 100 or _bad_limit(), error_messages={"invalid": "not_an_integer"})


def _bad_limit():
    raise ValidationError("limit_range|100")


class FieldError(Schema):
    field = fields.String(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)


class Problem(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    code = fields.String()
    errors = fields.List(fields.Nested(FieldError))
    retry_after = fields.Integer()


class ReportIn(Schema):
    """A reader's report from the site's "report" button."""

    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, metadata={"enum": list(REPORT_REASONS)},
                           validate=lambda v: v in REPORT_REASONS or _bad_reason(),
                           error_messages={"required": "required", "null": "required", "invalid": "not_a_string"})
    detail = fields.String(load_default=None, allow_none=True, metadata={"maxLength": 1000},
                           validate=lambda v: len(v) <= 1000 or _too_long(1000))
    reporter_ip = fields.String(load_default=None, allow_none=True, metadata={"maxLength": 45})


def _bad_reason():
    raise ValidationError("invalid")


def _too_long(limit: int):
    raise ValidationError(f"too_long|{limit}")


class ReportOut(Schema):
    comment_id = fields.Integer(required=True)
    in_reported_queue = fields.Boolean(required=True)
