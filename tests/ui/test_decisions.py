"""Decisions from the console: single, conflicting, bulk; claiming, reveals, bans, dismissed reports."""
from __future__ import annotations

import re

import sqlalchemy as sa

from moderation.core.models import AuditEntry, Comment, Decision, Report, Rule
from moderation.core.status import CommentStatus
from moderation.extensions import db
from tests.conftest import valid_comment
from tests.ui.conftest import NOW


def status_of(app, comment_id):
    with app.app_context():
        return db.session.get(Comment, comment_id).status


def test_approve_from_the_form_redirects_with_a_french_notice(app, console_as, add_comment):
    comment_id = add_comment()
    nadia = console_as("moderator")
    response = nadia.post(f"/moderate/comments/{comment_id}/decision", {"action": "approve", "version": "1"})
    assert response.status_code == 302
    assert f"Commentaire {comment_id} approuvé." in nadia.get(response.headers["Location"]).get_data(as_text=True)
    assert status_of(app, comment_id) is CommentStatus.APPROVED


def test_reject_needs_a_reason_and_keeps_the_note_to_the_author(app, console_as, add_comment):
    comment_id = add_comment()
    nadia = console_as("moderator")
    refused = nadia.post(f"/moderate/comments/{comment_id}/decision", {"action": "reject"}, fetch=True)
    assert refused.status_code == 422 and refused.get_json()["message"] == "Choisissez un motif de refus."
    done = nadia.post(f"/moderate/comments/{comment_id}/decision",
                      {"action": "reject", "reason": "off_topic", "note": "Merci de rester sur le sujet."}, fetch=True)
    assert done.get_json() == {"ok": True, "message": f"Commentaire {comment_id} refusé.", "status": "rejected",
                               "version": 2}
    with app.app_context():
        decision = db.session.scalars(sa.select(Decision).where(Decision.comment_id == comment_id)).one()
        assert (decision.reason_code, decision.note_to_author, decision.actor) == \
            ("off_topic", "Merci de rester sur le sujet.", "nadia@journal.fr")


def test_a_reason_left_selected_does_not_ride_along_with_an_approval(app, console_as, add_comment):
    comment_id = add_comment()
    console_as("moderator").post(f"/moderate/comments/{comment_id}/decision",
                                 {"action": "approve", "reason": "hate", "note": "brouillon"}, fetch=True)
    with app.app_context():
        decision = db.session.scalars(sa.select(Decision).where(Decision.comment_id == comment_id)).one()
        assert (decision.action, decision.reason_code, decision.note_to_author) == ("approve", None, None)


def test_second_moderator_on_a_stale_version_gets_a_readable_conflict(app, console_as, add_comment):
    comment_id = add_comment()
    nadia, admin = console_as("moderator"), console_as("admin")
    assert nadia.post(f"/moderate/comments/{comment_id}/decision", {"action": "approve", "version": "1"},
                      fetch=True).status_code == 200
    late = admin.post(f"/moderate/comments/{comment_id}/decision", {"action": "spam", "version": "1"}, fetch=True)
    assert late.status_code == 409
    assert re.fullmatch(r"Déjà approuvé par nadia@journal\.fr à \d\d:\d\d\.", late.get_json()["message"])
    assert status_of(app, comment_id) is CommentStatus.APPROVED
    # Without the script the same message comes back as a notice on the queue page.
    page = admin.post(f"/moderate/comments/{comment_id}/decision", {"action": "spam", "version": "1"})
    assert "Déjà approuvé par nadia@journal.fr" in admin.get(page.headers["Location"]).get_data(as_text=True)


def test_an_action_the_status_does_not_allow_is_explained(app, console_as, add_comment):
    comment_id = add_comment(status="approved")
    response = console_as("moderator").post(f"/moderate/comments/{comment_id}/decision", {"action": "not_spam"},
                                            fetch=True)
    assert response.status_code == 409 and "Ce commentaire est approuvé" in response.get_json()["message"]


def test_restore_and_not_spam(app, console_as, add_comment):
    spam, rejected = add_comment(status="spam"), add_comment(status="rejected")
    nadia = console_as("moderator")
    assert nadia.post(f"/moderate/comments/{spam}/decision", {"action": "not_spam"}, fetch=True).status_code == 200
    assert nadia.post(f"/moderate/comments/{rejected}/decision", {"action": "restore"}, fetch=True).status_code == 200
    assert status_of(app, spam) is CommentStatus.APPROVED and status_of(app, rejected) is CommentStatus.PENDING


def test_bulk_on_a_selection_reports_done_and_skipped(app, console_as, add_comment):
    first, second = add_comment(), add_comment()
    already = add_comment(status="approved")
    nadia = console_as("moderator")
    response = nadia.post("/moderate/bulk", {"action": "approve", "ids": [first, second, already], "scope": "selected",
                                             "next": "/moderate/queue/pending"})
    assert response.headers["Location"] == "/moderate/queue/pending"
    body = nadia.get("/moderate/queue/pending").get_data(as_text=True)
    assert "2 commentaires traités, 1 ignoré (déjà modifié ou action impossible)." in body
    assert status_of(app, first) is status_of(app, second) is CommentStatus.APPROVED


def test_bulk_on_the_whole_filtered_queue(app, console_as, add_comment):
    spam = [add_comment(spam_score=0.97, risk=0.97, content=f"casino {n}") for n in range(3)]
    clean = add_comment(content="Analyse fine")
    nadia = console_as("moderator")
    done = nadia.post("/moderate/bulk", {"action": "spam", "scope": "all", "queue": "pending", "likely_spam": "1"},
                      fetch=True).get_json()
    assert (done["done"], done["skipped"]) == (3, 0)
    assert all(status_of(app, i) is CommentStatus.SPAM for i in spam)
    assert status_of(app, clean) is CommentStatus.PENDING
    empty = nadia.post("/moderate/bulk", {"action": "approve", "scope": "selected"}, fetch=True)
    assert empty.status_code == 422 and empty.get_json()["message"] == "Sélectionnez au moins un commentaire."
    reject = nadia.post("/moderate/bulk", {"action": "reject", "ids": [clean]}, fetch=True)
    assert reject.get_json()["message"] == "Choisissez un motif de refus."


def test_revealing_the_email_is_logged(app, console_as, add_comment):
    comment_id = add_comment(author_email="karim.b@example.org")
    viewer = console_as("viewer")
    assert viewer.post(f"/moderate/comments/{comment_id}/reveal", fetch=True).get_json() == \
        {"ok": True, "email": "karim.b@example.org"}
    page = viewer.post(f"/moderate/comments/{comment_id}/reveal")  # without the script: the card, revealed
    assert "karim.b@example.org" in page.get_data(as_text=True)
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "email.revealed")).all()
        assert [(e.target, e.moderator_id is not None) for e in entries] == [(f"comment:{comment_id}", True)] * 2


def test_one_click_ban_sends_the_authors_next_comment_to_spam(app, console_as, client, auth):
    first = client.post("/api/v1/comments", json=valid_comment(author_email="troll@example.org", content="Nul"),
                        headers=auth).get_json()
    admin = console_as("admin")
    response = admin.post(f"/moderate/comments/{first['id']}/ban", fetch=True)
    assert response.get_json()["message"].startswith("L'e-mail de cet auteur est banni")
    later = client.post("/api/v1/comments", json=valid_comment(author_email="troll@example.org", content="Encore"),
                        headers=auth).get_json()
    assert later["status"] == "spam"
    with app.app_context():
        rule = db.session.scalars(sa.select(Rule)).one()
        assert (rule.kind, rule.target, rule.value) == ("ban", "email", "troll@example.org")


def test_only_admins_see_and_use_the_ban_button(app, console_as, add_comment):
    # Core keeps every rule, bans included, to admins.
    comment_id = add_comment()
    nadia = console_as("moderator")
    assert "Bannir cet e-mail" not in nadia.get(f"/moderate/comments/{comment_id}").get_data(as_text=True)
    assert nadia.post(f"/moderate/comments/{comment_id}/ban", fetch=True).status_code == 403
    assert "Bannir cet e-mail" in console_as("admin").get(f"/moderate/comments/{comment_id}").get_data(as_text=True)


def test_claimed_comment_is_skipped_by_colleagues(app, console_as, add_comment):
    comment_id = add_comment()
    nadia, admin = console_as("moderator"), console_as("admin")
    assert nadia.post(f"/moderate/comments/{comment_id}/claim", fetch=True).get_json()["ok"] is True
    assert f'data-id="{comment_id}"' in nadia.get("/moderate/queue/pending").get_data(as_text=True)
    assert f'data-id="{comment_id}"' not in admin.get("/moderate/queue/pending").get_data(as_text=True)
    taken = admin.post(f"/moderate/comments/{comment_id}/claim", fetch=True)
    assert taken.status_code == 409 and taken.get_json()["message"] == "Un ou une collègue a ce commentaire ouvert."


def test_keeping_a_reported_comment_dismisses_its_reports(app, console_as, add_comment):
    comment_id = add_comment(status="approved", reported_at=NOW)
    with app.app_context():
        db.session.add(Report(comment_id=comment_id, reason="spam", created_at=NOW))
        db.session.commit()
    nadia = console_as("moderator")
    assert nadia.post(f"/moderate/comments/{comment_id}/dismiss", fetch=True).status_code == 200
    assert f'data-id="{comment_id}"' not in nadia.get("/moderate/queue/reported").get_data(as_text=True)
    assert status_of(app, comment_id) is CommentStatus.APPROVED


def test_comment_posted_through_the_api_can_be_decided(app, console_as, client, auth):
    posted = client.post("/api/v1/comments", json=valid_comment(content="Bravo pour l'enquête"), headers=auth)
    comment_id = posted.get_json()["id"]
    nadia = console_as("moderator")
    assert "Bravo pour l&#39;enquête" in nadia.get("/moderate/queue/pending").get_data(as_text=True)
    assert nadia.post(f"/moderate/comments/{comment_id}/decision", {"action": "approve"}, fetch=True).status_code == 200
