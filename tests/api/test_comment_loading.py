"""The intake body's fast loading gives exactly what CommentIn gives: the same fields, or the same errors."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from moderation.api import comment_loading
from moderation.api.comment_loading import _field_plan, load_comment, typed_fields
from moderation.api.schemas import CommentIn

REQUIRED = ["article_id", "author_name", "author_email", "content"]
OPTIONAL_TEXT = ["article_url", "article_title", "author_url", "author_ip", "author_user_agent", "referrer", "language"]
# Values a site's integration or an attacker might send, each aimed at one of CommentIn's rules.
AWKWARD = [
    "", "   ", "\t\n", "\r\n", "a\r\nb\rc", "a\x00b", "\x7f", "\x85", "x\u200fy", "مرحبا بالجميع",
    "Salam khouya, 3ajbni had l'article", "e\u0301te\u0301", "<script>alert(1)</script>", "x" * 201, "é" * 246,
    "http://example.org/a", "https://exemple.ma/article?id=1", "javascript:alert(1)", "ftp://example.org",
    "http://", "1.2.3.4", "::1", "2001:db8::0:1", "999.1.1.1", "amina@example.org", " Amina@Example.ORG ",
    "bad@", "@example.org", "a@b", "a..b@example.org", "amina@localhost", "user@münchen.de", "a" * 101,
]
TEXT = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40))
ANY_VALUE = st.one_of(
    st.none(), TEXT, st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.booleans(),
    st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ANY_BODY = st.one_of(
    st.dictionaries(st.sampled_from(REQUIRED + OPTIONAL_TEXT + ["parent_id", "unknown", "Content"]), ANY_VALUE,
                    max_size=14),
    ANY_VALUE,
)
# Bodies whose every field has the right type: the ones the fast path takes.
WELL_TYPED = st.fixed_dictionaries(
    {name: TEXT.filter(lambda text: text.strip()) for name in REQUIRED},
    optional={**{name: st.one_of(st.none(), TEXT) for name in OPTIONAL_TEXT},
              "parent_id": st.one_of(st.none(), st.integers(min_value=-5, max_value=2 ** 64))},
)
EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(load, body):
    try:
        return "loaded", list(load(body).items())  # the order of the fields too
    except ValidationError as error:
        return "refused", error.messages


@pytest.fixture
def context(app):
    with app.app_context():
        yield


@EXAMPLES
@given(body=ANY_BODY)
def test_any_body_loads_as_commentin_loads_it(context, body):
    assert outcome(load_comment, body) == outcome(CommentIn().load, body)


@EXAMPLES
@given(body=WELL_TYPED)
def test_well_typed_bodies_take_the_fast_path_and_agree(context, body):
    assert typed_fields(body) is not None
    assert outcome(load_comment, body) == outcome(CommentIn().load, body)


def test_errors_found_after_typing_are_the_same(context):
    body = {"article_id": "a1", "author_name": "Nadia\x00", "author_email": "nadia@", "content": " Bravo ",
            "author_url": "javascript:alert(1)", "author_ip": "999.1.1.1", "parent_id": 0}
    assert typed_fields(body) is not None
    assert outcome(load_comment, body) == ("refused", {
        "author_name": ["control_chars"], "author_url": ["url_scheme"], "author_ip": ["invalid_ip"],
        "author_email": ["invalid_email"], "parent_id": ["not_an_integer"],
    })
    assert outcome(CommentIn().load, body) == outcome(load_comment, body)


@pytest.mark.parametrize("body", [
    {"article_id": "a1", "author_name": "N", "author_email": "n@example.org"},  # content missing
    {"article_id": "a1", "author_name": "N", "author_email": "n@example.org", "content": "  "},
    {"article_id": "a1", "author_name": "N", "author_email": "n@example.org", "content": "x", "parent_id": True},
    {"article_id": "a1", "author_name": "N", "author_email": "n@example.org", "content": "x", "parent_id": 2.0},
    {"article_id": 7, "author_name": "N", "author_email": "n@example.org", "content": "x"},
    {"article_id": "a1", "author_name": "N", "author_email": "n@example.org", "content": "x", "spam": 1},
    ["not", "an", "object"],
])
def test_bodies_with_a_wrong_shape_are_left_to_commentin(context, body):
    assert typed_fields(body) is None
    assert outcome(load_comment, body) == outcome(CommentIn().load, body)
    assert outcome(load_comment, body)[0] == "refused"


def test_the_fast_path_covers_commentin_as_it_is():
    assert comment_loading.FAST


def test_a_field_it_cannot_reproduce_turns_the_fast_path_off():
    class WithEmailField(CommentIn):
        contact = fields.Email(load_default=None, allow_none=True)

    class WithValidator(CommentIn):
        language = fields.String(load_default=None, allow_none=True, validate=lambda value: len(value) == 2)

    assert _field_plan(WithEmailField()) is None
    assert _field_plan(WithValidator()) is None
