"""Console login: sessions that can be revoked, throttling, secure cookies."""
from __future__ import annotations

import datetime as dt

from moderation.core import moderators as accounts_core
from moderation.core.models import Moderator
from moderation.extensions import db
from tests.ui.conftest import ACCOUNTS, PASSWORD, csrf_token, log_in


def _moderator_id(app, email):
    with app.app_context():
        return db.session.query(Moderator).filter_by(email=email).one().id


def test_login_opens_the_queue_and_logout_revokes_the_session(app, accounts):
    client = app.test_client()
    assert client.get("/moderate/queue/pending").status_code == 302  # not logged in: to the login page
    response = log_in(client, ACCOUNTS["moderator"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/moderate/queue/pending")
    page = client.get("/moderate/queue/pending")
    assert page.status_code == 200 and "Nadia" in page.get_data(as_text=True)
    cookie = client.get_cookie("__Host-moderation")

    client.post("/moderate/logout", data={"csrf_token": csrf_token(page)})
    assert client.get("/moderate/queue/pending").status_code == 302
    # Replaying the old cookie does not bring the session back: it was revoked server-side.
    replay = app.test_client()
    replay.set_cookie(cookie.key, cookie.value, domain="localhost")
    assert replay.get("/moderate/queue/pending").status_code == 302


def test_wrong_password_and_unknown_account_get_the_same_french_message(app, accounts):
    client = app.test_client()
    wrong = log_in(client, ACCOUNTS["moderator"], "not the password at all")
    unknown = log_in(client, "nobody@journal.fr", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)


def test_login_is_throttled_with_a_readable_message(app, accounts):
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, ACCOUNTS["moderator"], "wrong password!!").status_code == 401
    blocked = log_in(client, ACCOUNTS["moderator"], PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)


def test_password_change_ends_every_session(app, accounts, console_as):
    first, second = console_as("moderator"), console_as("moderator")
    response = first.post("/moderate/account", {"current_password": PASSWORD, "new_password": "a brand new passphrase",
                                                "confirm_password": "a brand new passphrase"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/moderate/login")
    assert first.get("/moderate/queue/pending").status_code == 302
    assert second.get("/moderate/queue/pending").status_code == 302
    assert log_in(app.test_client(), ACCOUNTS["moderator"], "a brand new passphrase").status_code == 302


def test_disabling_an_account_logs_it_out_at_once(app, accounts, console_as):
    nadia, admin = console_as("moderator"), console_as("admin")
    assert nadia.get("/moderate/queue/pending").status_code == 200
    admin.post(f"/moderate/admin/moderators/{_moderator_id(app, ACCOUNTS['moderator'])}/active", {"active": "0"})
    assert nadia.get("/moderate/queue/pending").status_code == 302
    assert log_in(app.test_client(), ACCOUNTS["moderator"]).status_code == 401


def test_core_password_change_also_revokes(app, accounts, console_as):
    nadia = console_as("moderator")
    with app.app_context():
        accounts_core.change_password(db.session, _moderator_id(app, ACCOUNTS["moderator"]), "another long secret",
                                      dt.datetime.now(dt.timezone.utc))
    assert nadia.get("/moderate/queue/pending").status_code == 302


def test_session_cookie_is_host_only_secure_httponly_lax(app, accounts):
    response = log_in(app.test_client(), ACCOUNTS["moderator"])
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("__Host-moderation="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
    assert "SameSite=Lax" in cookie and "Path=/" in cookie


def test_cookie_can_be_plain_for_local_http(make_app, accounts):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    response = log_in(app.test_client(), ACCOUNTS["moderator"])
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("moderation_session=") and "Secure" not in cookie and "HttpOnly" in cookie


def test_login_redirects_only_inside_the_console(app, accounts):
    for target, expected in (("/moderate/dashboard", "/moderate/dashboard"),
                             ("https://evil.example/", "/moderate/queue/pending"),
                             ("//evil.example/moderate", "/moderate/queue/pending")):
        client = app.test_client()
        page = client.get("/moderate/login")
        response = client.post("/moderate/login", data={"email": ACCOUNTS["viewer"], "password": PASSWORD,
                                                         "next": target, "csrf_token": csrf_token(page)})
        assert response.headers["Location"] == expected


def test_language_follows_choice_then_account(app, accounts, console_as):
    viewer = console_as("viewer")
    assert "Déconnexion" in viewer.get("/moderate/queue/pending").get_data(as_text=True)
    english = viewer.get("/moderate/queue/pending?lang=en")
    assert "Log out" in english.get_data(as_text=True)
    assert "Log out" in viewer.get("/moderate/dashboard").get_data(as_text=True)  # remembered in a cookie


def test_a_form_posted_after_the_session_ended_leads_back_through_login(app, accounts, console_as, add_comment):
    comment_id = add_comment()
    nadia = console_as("moderator")
    nadia.post("/moderate/logout")
    page = nadia.get("/moderate/login")
    response = nadia.client.post(f"/moderate/comments/{comment_id}/decision",
                                 data={"action": "approve", "csrf_token": csrf_token(page), "next": "/moderate/queue/spam"})
    assert response.status_code == 302 and "/moderate/login?next=/moderate/queue/spam" in response.headers["Location"]
    assert "Votre session a pris fin" in nadia.get(response.headers["Location"]).get_data(as_text=True)
    fetched = nadia.client.post(f"/moderate/comments/{comment_id}/decision", data={"action": "approve"},
                                headers={"X-Requested-With": "fetch", "X-CSRFToken": csrf_token(page)})
    assert fetched.status_code == 401 and fetched.get_json()["message"] == "Votre session a pris fin : reconnectez-vous."
