"""The OpenAPI document describes the API, and the API keeps to it under generated input."""
from __future__ import annotations

import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from hypothesis import HealthCheck, settings

import pytest


@pytest.fixture
def fuzz_app(make_app):
    # Floods and rate limits are their own tests; here they would only hide other answers.
    return make_app(FLOOD_INTERVAL_SECONDS=0, RATELIMIT_INTAKE="100000 per minute")


@pytest.fixture
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


@pytest.fixture
def fuzz_auth(fuzz_app):
    from moderation.core.sites import create_site
    from moderation.extensions import db

    with fuzz_app.app_context():
        _site, key = create_site(db.session, "Fuzz")
    return {"Authorization": f"Bearer {key}"}


def test_document_is_openapi_3_1_and_documents_problem_responses(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    post = spec["paths"]["/api/v1/comments"]["post"]
    for status in ("400", "401", "409", "413", "415", "422", "429", "503"):
        assert "application/problem+json" in post["responses"][status]["content"], status
    # The intake view is documented without flask-smorest's wrappers (api.comments.documented).
    assert post["responses"]["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Receipt"}
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CommentIn"}
    assert [p["name"] for p in post["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    assert set(spec["paths"]) >= {
        "/api/v1/comments", "/api/v1/comments/{comment_id}", "/api/v1/articles/{article_id}/comments",
    }
    assert spec["components"]["securitySchemes"]["siteKey"]["scheme"] == "bearer"
    properties = spec["components"]["schemas"]["PublicComment"]["properties"]
    assert "author_email" not in properties and "author_ip" not in properties


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_to_its_document(case, fuzz_auth):
    """No 5xx, and every answer (problem+json errors included) matches the document.

    Acceptance of generated "valid" data is not checked: e-mail syntax (email-validator) and
    control-character rules are stricter than what JSON Schema formats can say; and a body over
    the 64 KiB limit is rightly 413, which the negative-data check does not expect.
    """
    case.call_and_validate(
        headers={**(case.headers or {}), **fuzz_auth},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )


def test_validation_messages_are_flattened_to_field_names():
    from moderation.http_errors import flatten_messages

    assert flatten_messages({"json": {"content": ["required"], "author_email": ["invalid_email"]}}) == {
        "content": ["required"], "author_email": ["invalid_email"]}
    assert flatten_messages({"query": {"limit": ["too_big"]}}) == {"limit": ["too_big"]}
    assert flatten_messages({"_schema": {"author_url": ["url_scheme"]}}) == {"author_url": ["url_scheme"]}
    assert flatten_messages({"event_types": {1: ["invalid"], 3: ["invalid"]}}) == {"event_types": ["invalid", "invalid"]}
    assert flatten_messages({"_schema": ["invalid_body"]}) == {"_schema": ["invalid_body"]}
