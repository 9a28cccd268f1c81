"""The intake body as CommentIn loads it, without marshmallow's per-field machinery when the body is plainly well typed."""
from __future__ import annotations

from marshmallow import fields

from moderation.api.schemas import CommentIn, not_blank, check_comment, normalise_text

_SCHEMA = CommentIn()


def _field_plan(schema: CommentIn) -> list[tuple[str, bool, bool]] | None:
    """(name, required, is an integer) for each field in declaration order, the order marshmallow
    fills the loaded dict in (and so the order of check_comment's errors); None if a field is of a
    kind this module does not reproduce, so that a change to CommentIn cannot be skipped here."""
    plan = []
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name):
            return None
        if type(field) is fields.String:
            if field.validators != ([not_blank] if field.required else []):
                return None
            if not field.required and not (field.allow_none and field.load_default is None):
                return None
            plan.append((name, field.required, False))
        elif type(field) is fields.Integer and not field.required and field.strict and field.allow_none \
                and field.load_default is None and not field.validators:
            plan.append((name, False, True))
        else:
            return None
    return plan


_PLAN = _field_plan(_SCHEMA)
_KNOWN = frozenset(name for name, _required, _integer in _PLAN or ())
FAST = _PLAN is not None  # tests/test_comment_loading.py fails if CommentIn drifts out of reach


def typed_fields(payload) -> dict | None:
    """The payload's fields normalised, with their defaults, as CommentIn's pre-load and fields give
    them; None when anything is unknown, missing, blank or of another type (CommentIn then says what).

    Why: marshmallow's per-field calls were the largest part of an intake's request-side CPU after the
    write (bench/README.md, "Intake", seventh session). Only the well-typed case is done here; every
    other body goes through CommentIn, so the errors a site sees come from one place."""
    if not FAST or type(payload) is not dict or not _KNOWN.issuperset(payload):
        return None
    data = {}
    for name, required, integer in _PLAN:
        value = payload.get(name)
        if value is None:
            if required:
                return None
        elif integer:
            if type(value) is not int:  # not bool either: marshmallow refuses true as a number
                return None
        elif type(value) is str:
            value = normalise_text(value)
            if required and not value.strip():
                return None
        else:
            return None
        data[name] = value
    return data


def load_comment(payload) -> dict:
    """Exactly what CommentIn().load(payload) returns, or the same ValidationError."""
    data = typed_fields(payload)
    if data is None:
        return _SCHEMA.load(payload)
    return check_comment(data)
