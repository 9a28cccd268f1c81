"""Shape-only schemas of the webhooks API; the secret appears only in the creation and rotation answers."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from moderation.core.queries import MAX_ID
from moderation.webhooks.models import DELIVERY_STATUSES, EVENT_TYPES

EVENT_TYPE = fields.String(validate=validate.OneOf(EVENT_TYPES, error="invalid"),
                           error_messages={"invalid": "not_a_string"})


class EndpointIn(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(required=True, metadata={"maxLength": 2048, "description": "http(s) URL receiving POSTs."},
                        error_messages={"required": "required", "null": "required", "invalid": "not_a_string"})
    event_types = fields.List(EVENT_TYPE, load_default=None, metadata={"description": "Default: every event type."})
    active = fields.Boolean(load_default=True)
    include_author_email = fields.Boolean(
        load_default=False, metadata={"description": "Payloads carry the author's e-mail (to write to them)."})


class EndpointPatch(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(metadata={"maxLength": 2048}, error_messages={"invalid": "not_a_string"})
    event_types = fields.List(EVENT_TYPE)
    active = fields.Boolean()
    include_author_email = fields.Boolean()


class EndpointOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    include_author_email = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True)
    previous_secret_expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)


class EndpointWithSecret(EndpointOut):
    secret = fields.String(required=True, metadata={"description": "whsec_ secret; shown only in this answer."})


class DeliveryOut(Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_latency_ms = fields.Integer(allow_none=True)
    last_response_excerpt = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True)


def _limit(value: int) -> None:
    if not 1 <= value <= 100:
        raise ValidationError("limit_range|100")


class DeliveriesQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(load_default=None, validate=validate.OneOf(DELIVERY_STATUSES, error="invalid"))
    limit = fields.Integer(load_default=50, validate=_limit, metadata={"minimum": 1, "maximum": 100},
                           error_messages={"invalid": "not_an_integer"})
    before_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID, error="invalid"),
                               metadata={"minimum": 1, "maximum": MAX_ID}, error_messages={"invalid": "not_an_integer"})


DATE_ERRORS = {"required": "required", "invalid": "invalid", "invalid_awareness": "invalid"}


class TimeRange(Schema):
    class Meta:
        unknown = RAISE

    since = fields.AwareDateTime(required=True, error_messages=DATE_ERRORS)
    until = fields.AwareDateTime(required=True, error_messages=DATE_ERRORS)


class Requeued(Schema):
    count = fields.Integer(required=True)
