"""Intake: what the news site sees when it posts a reader's comment."""
from __future__ import annotations

import json
import unicodedata

import pytest
import sqlalchemy as sa

from moderation.core.models import Comment, Decision, OutboxEvent
from moderation.extensions import db
from tests.conftest import valid_comment


def post(client, auth, body, **headers):
    return client.post("/api/v1/comments", json=body, headers={**auth, **headers})


@pytest.mark.parametrize(("script_root", "quoted"), [
    ("/commentaires", "/commentaires"),
    ("/réactions du site", "/r%C3%A9actions%20du%20site"),  # an IRI, sent as a URI as werkzeug would
])
def test_the_location_is_a_uri_under_any_script_root(client, auth, script_root, quoted):
    response = client.post("/api/v1/comments", json=valid_comment(), headers=auth,
                           environ_overrides={"SCRIPT_NAME": script_root.encode().decode("latin-1")})  # as WSGI has it
    assert response.status_code == 202
    assert response.headers["Location"] == f"{quoted}/api/v1/comments/{response.get_json()['id']}"


def test_accepted_comment_is_stored_pending_and_readable(client, auth, app):
    response = post(client, auth, valid_comment())
    assert response.status_code == 202
    receipt = response.get_json()
    assert receipt["status"] == "pending" and receipt["version"] == 1
    assert response.headers["Location"] == f"/api/v1/comments/{receipt['id']}"

    shown = client.get(response.headers["Location"], headers=auth).get_json()
    assert shown["status"] == "pending"
    assert shown["content"] == "Très bon article, merci."
    assert len(response.headers.getlist("Location")) == 1
    assert "author_email" not in shown and "author_ip" not in shown
    with app.app_context():
        comment = db.session.get(Comment, receipt["id"])
        assert [d.action for d in comment.decisions] == ["received"]
        events = db.session.scalars(sa.select(OutboxEvent)).all()
        assert [(e.type, e.comment_id) for e in events] == [("comment.received", comment.id)]
        from moderation.api.schemas import Receipt

        assert receipt == Receipt().dump(comment)  # the hand-written answer keeps to its documented schema


@pytest.mark.parametrize("field,label", [
    ("article_id", "identifiant de l'article"), ("author_name", "nom"),
    ("author_email", "e-mail"), ("content", "commentaire"),
])
@pytest.mark.parametrize("value", [..., "", "   \n\t"])
def test_missing_or_blank_required_field_is_named_in_french(client, auth, field, label, value):
    response = post(client, auth, valid_comment(**{field: value}))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/validation-error")
    assert problem["errors"] == [
        {"field": field, "code": "required", "message": f"Le champ « {label} » est obligatoire."}
    ]


def test_error_language_follows_accept_language(client, auth):
    body = valid_comment(author_email=...)
    english = post(client, auth, body, **{"Accept-Language": "en-GB,en;q=0.8"}).get_json()
    arabic = post(client, auth, body, **{"Accept-Language": "ar-MA"}).get_json()
    assert english["errors"][0]["message"] == "The email field is required."
    assert english["title"] == "Invalid data"
    assert arabic["errors"][0]["message"] == "حقل «البريد الإلكتروني» إلزامي."


def test_all_missing_fields_are_listed_together(client, auth):
    problem = post(client, auth, {"article_id": "1"}).get_json()
    assert sorted(e["field"] for e in problem["errors"]) == ["author_email", "author_name", "content"]


@pytest.mark.parametrize("email", [
    "plainaddress", "@example.org", "amina@", "amina@@example.org", "amina@example..org",
    "amina @example.org", "amina@exa mple.org", "<script>@example.org",
])
def test_invalid_emails_are_refused(client, auth, email):
    problem = post(client, auth, valid_comment(author_email=email)).get_json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == "author_email"
    assert problem["errors"][0]["message"] == "Veuillez saisir une adresse e-mail valide."


def test_email_is_normalised(client, auth, app):
    receipt = post(client, auth, valid_comment(author_email="Amina@EXAMPLE.Org")).get_json()
    with app.app_context():
        assert db.session.get(Comment, receipt["id"]).author_email == "Amina@example.org"


@pytest.mark.parametrize("field,limit", [
    ("author_name", 245), ("author_url", 200), ("article_url", 200),
])
def test_wordpress_length_limits(client, auth, field, limit):
    prefix = "https://example.org/" if "url" in field else ""
    at_limit = prefix + "a" * (limit - len(prefix))
    assert post(client, auth, valid_comment(**{field: at_limit})).status_code == 202
    problem = post(client, auth, valid_comment(**{field: at_limit + "a", "content": "autre"})).get_json()
    assert problem["errors"][0]["code"] == "too_long"
    assert str(limit) in problem["errors"][0]["message"]


def test_email_length_limit(client, auth):
    email = "a" * 64 + "@" + "b" * 40 + ".org"
    problem = post(client, auth, valid_comment(author_email=email)).get_json()
    assert problem["errors"][0]["field"] == "author_email"
    assert problem["errors"][0]["code"] in {"too_long", "invalid_email"}


def test_content_is_nfc_normalised_and_crlf_becomes_newline(client, auth, app):
    decomposed = unicodedata.normalize("NFD", "Été très réussi\r\nà Fès")
    receipt = post(client, auth, valid_comment(content=decomposed)).get_json()
    with app.app_context():
        stored = db.session.get(Comment, receipt["id"]).content
    assert stored == "Été très réussi\nà Fès"
    assert unicodedata.is_normalized("NFC", stored)


@pytest.mark.parametrize("field", ["author_name", "content", "article_id", "author_email"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
def test_nul_and_control_characters_are_refused(client, auth, field, char):
    value = valid_comment()[field]
    value = value[:3] + char + value[3:]
    problem = post(client, auth, valid_comment(**{field: value})).get_json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == field
    assert problem["errors"][0]["code"] in {"control_chars", "invalid_email"}


def test_tabs_and_newlines_are_kept(client, auth, app):
    receipt = post(client, auth, valid_comment(content="ligne 1\n\tligne 2")).get_json()
    with app.app_context():
        assert db.session.get(Comment, receipt["id"]).content == "ligne 1\n\tligne 2"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x", "example.org", "data:text/html,hi"])
def test_author_url_must_be_http(client, auth, url):
    problem = post(client, auth, valid_comment(author_url=url)).get_json()
    assert problem["errors"] == [{"field": "author_url", "code": "url_scheme", "message": problem["errors"][0]["message"]}]
    assert "http://" in problem["errors"][0]["message"]


def test_html_and_script_in_every_field_are_stored_and_returned_as_inert_text(client, auth):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    body = valid_comment(
        article_id=payload, author_name=payload, content=payload, article_title=payload,
        author_url="https://example.org/?q=<script>", language="<b>fr</b>", author_user_agent=payload,
    )
    response = post(client, auth, body)
    assert response.status_code == 202
    shown = client.get(response.headers["Location"], headers=auth)
    assert shown.mimetype == "application/json"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    data = shown.get_json()
    assert data["author_name"] == payload and data["content"] == payload and data["article_id"] == payload
    assert data["author_url"] == "https://example.org/?q=<script>"


def test_right_to_left_and_mixed_scripts_round_trip_intact(client, auth):
    text = "مقال رائع 👏 bravo l'équipe, wakha hadchi 3ajbni بزاف \u202eevil\u202c (2026)"
    name = "عبد الله Benali"
    response = post(client, auth, valid_comment(content=text, author_name=name))
    data = client.get(response.headers["Location"], headers=auth).get_json()
    assert data["content"] == text and data["author_name"] == name


def test_body_over_64_kib_is_413(client, auth):
    response = post(client, auth, valid_comment(content="x" * (64 * 1024 + 1)))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/payload-too-large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_non_json_content_type_is_415(client, auth, content_type):
    response = client.post("/api/v1/comments", data=json.dumps(valid_comment()), headers={**auth, "Content-Type": content_type})
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_malformed_json_is_400(client, auth):
    response = client.post("/api/v1/comments", data='{"article_id": ', headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["type"].endswith("/malformed-json")


@pytest.mark.parametrize("body", [[1, 2], "text", 42, None])
def test_json_that_is_not_an_object_is_422(client, auth, body):
    response = client.post("/api/v1/comments", data=json.dumps(body), headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_unknown_field_is_named(client, auth):
    problem = post(client, auth, valid_comment(author_phone="0600000000")).get_json()
    assert problem["errors"][0]["field"] == "author_phone"
    assert problem["errors"][0]["code"] == "unknown_field"


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dXNlcjpwYXNz", "Bearer "])
def test_missing_or_wrong_key_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/comments", json=valid_comment(), headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_reply_must_belong_to_the_same_article(client, auth):
    parent = post(client, auth, valid_comment()).get_json()
    reply = post(client, auth, valid_comment(content="Je réponds", parent_id=parent["id"]))
    assert reply.status_code == 202
    elsewhere = post(client, auth, valid_comment(article_id="autre", content="Ailleurs", parent_id=parent["id"]))
    assert elsewhere.status_code == 422
    assert elsewhere.get_json()["type"].endswith("/invalid-parent")
    missing = post(client, auth, valid_comment(content="Orphelin", parent_id=999999))
    assert missing.status_code == 422


def test_duplicate_comment_is_409(client, auth):
    assert post(client, auth, valid_comment()).status_code == 202
    again = post(client, auth, valid_comment())
    assert again.status_code == 409
    assert again.get_json()["type"].endswith("/duplicate-comment")
    assert "déjà dit cela" in again.get_json()["title"]
    other_article = post(client, auth, valid_comment(article_id="autre-article"))
    assert other_article.status_code == 202


def test_unknown_comment_and_other_sites_comments_are_404(client, auth, app):
    from moderation.core.sites import create_site

    receipt = post(client, auth, valid_comment()).get_json()
    with app.app_context():
        _site, other_key = create_site(db.session, "Autre site")
    other = {"Authorization": f"Bearer {other_key}"}
    assert client.get(f"/api/v1/comments/{receipt['id']}", headers=other).status_code == 404
    response = client.get("/api/v1/comments/424242", headers=auth)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_no_traceback_reaches_the_client(client, auth, app, monkeypatch):
    from moderation.core import submissions

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(submissions, "submit_comment", explode)
    response = post(client, auth, valid_comment())
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_accepted_comment_has_one_decision_row(client, auth, app):
    for n in range(3):
        post(client, auth, valid_comment(content=f"commentaire {n}"))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 3
