"""Console security: CSRF on every form, security headers and CSP, roles, readable error pages."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from moderation.core.models import AuditEntry
from moderation.extensions import db
from moderation.ui import bp
from tests.conftest import valid_comment
from tests.ui.conftest import ACCOUNTS, PASSWORD

EXPECTED_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def console_post_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(bp.name + ".") and "POST" in rule.methods:
            yield rule.rule.replace("<int:comment_id>", "1").replace("<int:rule_id>", "1") \
                .replace("<int:moderator_id>", "1").replace("<int:token_id>", "1").replace("<int:site_id>", "1")


def test_every_console_post_without_a_csrf_token_is_refused_with_a_french_page(app, console_as, add_comment):
    add_comment()
    admin = console_as("admin")
    routes = sorted(set(console_post_routes(app)))
    assert len(routes) >= 15  # every form of the console, logout and login included
    for route in routes:
        response = admin.client.post(route, data={"action": "approve", "email": ACCOUNTS["admin"], "password": PASSWORD})
        assert response.status_code == 400, route
        body = response.get_data(as_text=True)
        assert "Ce formulaire a expiré ou ne vient pas de la console" in body, route
        assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    # Nothing was done: the comment is still waiting and the admin still logged in.
    assert "Commentaire 1" in admin.get("/moderate/queue/pending").get_data(as_text=True)


def test_csrf_failure_for_the_script_is_a_json_message(app, console_as, add_comment):
    comment_id = add_comment()
    nadia = console_as("moderator")
    response = nadia.client.post(f"/moderate/comments/{comment_id}/decision", data={"action": "approve"},
                                 headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400 and response.get_json()["code"] == "csrf"


def test_csrf_token_in_the_header_is_accepted(app, console_as, add_comment):
    comment_id = add_comment()
    nadia = console_as("moderator")
    response = nadia.client.post(f"/moderate/comments/{comment_id}/decision", data={"action": "approve"},
                                 headers={"X-Requested-With": "fetch", "X-CSRFToken": nadia.token})
    assert response.status_code == 200 and response.get_json()["status"] == "approved"


@pytest.mark.parametrize("path", ["/moderate/login", "/moderate/queue/pending", "/moderate/nowhere",
                                  "/moderate/static/console.css", "/moderate/comments/999999"])
def test_security_headers_on_every_console_response(app, console_as, path):
    response = console_as("viewer").get(path)
    response.close()
    assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_missing_comment_is_a_readable_french_page_and_api_errors_stay_problem_json(app, console_as, auth):
    page = console_as("viewer").get("/moderate/comments/999999")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Cette page ou ce commentaire n&#39;existe pas." in page.get_data(as_text=True)
    api = app.test_client().get("/api/v1/comments/999999", headers=auth)
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_api_posts_need_no_csrf_token(client, auth):
    assert client.post("/api/v1/comments", json=valid_comment(), headers=auth).status_code == 202


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.offences = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names or tag == "style":
            self.offences.append(tag)
        self.offences.extend(f"{tag} {name}" for name in names if name == "style" or name.startswith("on"))


def test_pages_have_no_inline_script_style_or_handler(app, console_as, add_comment):
    add_comment(content='<script>alert(1)</script> " onmouseover="alert(2)', author_name="<img src=x onerror=alert(3)>")
    admin = console_as("admin")
    for path in ("/moderate/queue/pending", "/moderate/dashboard", "/moderate/admin/rules", "/moderate/admin/moderators",
                 "/moderate/admin/tokens", "/moderate/admin/sites", "/moderate/account", "/moderate/login"):
        parser = _Tags()
        parser.feed(admin.get(path).get_data(as_text=True))
        assert parser.offences == [], path


def test_viewer_reads_but_cannot_decide(app, console_as, add_comment):
    comment_id = add_comment()
    viewer = console_as("viewer")
    page = viewer.get("/moderate/queue/pending").get_data(as_text=True)
    assert "Commentaire 1" in page and 'class="decision"' not in page
    refused = viewer.post(f"/moderate/comments/{comment_id}/decision", {"action": "approve"})
    assert refused.status_code == 403 and "Votre rôle ne permet pas cette action." in refused.get_data(as_text=True)
    assert viewer.post("/moderate/bulk", {"action": "approve", "ids": [comment_id]}).status_code == 403


@pytest.mark.parametrize("path", ["/moderate/admin/rules", "/moderate/admin/moderators", "/moderate/admin/tokens",
                                  "/moderate/admin/sites"])
def test_moderator_cannot_manage_rules_accounts_tokens_or_sites(app, console_as, path):
    nadia = console_as("moderator")
    assert nadia.get(path).status_code == 403
    assert nadia.post(path, {"kind": "blocked_term", "value": "zut", "email": "x@y.z", "password": "x" * 20,
                             "role": "admin"}).status_code in (403, 405)


def test_refusals_are_audited(app, console_as):
    console_as("viewer").get("/moderate/admin/moderators")
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "access.denied")).one()
        assert (entry.target, entry.details) == ("/moderate/admin/moderators", {"method": "GET", "role": "viewer"})


def test_hsts_only_over_https(app, console_as):
    viewer = console_as("viewer")
    assert "Strict-Transport-Security" not in viewer.get("/moderate/dashboard").headers
    secure = viewer.get("/moderate/dashboard", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_moderator_cannot_add_a_rule(app, console_as):
    assert console_as("moderator").post("/moderate/admin/rules", {"kind": "blocked_term", "value": "zut"}).status_code == 403
    admin = console_as("admin")
    assert "zut" not in admin.get("/moderate/admin/rules").get_data(as_text=True)


def test_decisions_are_post_only(app, console_as, add_comment):
    comment_id = add_comment()
    assert console_as("moderator").get(f"/moderate/comments/{comment_id}/decision").status_code == 405
