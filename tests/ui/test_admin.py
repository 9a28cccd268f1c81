"""Admin pages: rules, accounts, tokens and site settings, each change in the audit log; the dashboard."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from moderation.core.models import ApiToken, AuditEntry, Decision, Moderator, Rule, Site
from moderation.extensions import db
from tests.ui.conftest import NOW, PASSWORD, log_in


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_rules_are_added_listed_and_removed(app, console_as, site):
    admin = console_as("admin")
    admin.post("/moderate/admin/rules", {"kind": "blocked_term", "value": "connard*", "note": "insulte"})
    admin.post("/moderate/admin/rules", {"kind": "ban", "value": "198.51.100.0/24", "target": "network",
                                         "site_id": str(site.id)})
    refused = admin.post("/moderate/admin/rules", {"kind": "ban", "value": "x@y.z"})
    assert "Les règles de bannissement" in admin.get(refused.headers["Location"]).get_data(as_text=True)
    page = admin.get("/moderate/admin/rules").get_data(as_text=True)
    assert "<bdi>connard*</bdi>" in page and "198.51.100.0/24" in page and "<bdi>Le Journal</bdi>" in page
    assert "Terme interdit (refusé)" in page
    with app.app_context():
        rule_id = db.session.scalar(sa.select(Rule.id).where(Rule.value == "connard*"))
    admin.post(f"/moderate/admin/rules/{rule_id}/delete")
    assert "connard*" not in admin.get("/moderate/admin/rules").get_data(as_text=True)
    assert audit_actions(app)[-3:] == ["rule.added", "rule.added", "rule.removed"]


def test_accounts_are_created_changed_and_disabled(app, console_as):
    admin = console_as("admin")
    short = admin.post("/moderate/admin/moderators", {"email": "new@journal.fr", "role": "viewer", "password": "court"})
    assert "au moins 12 caractères" in admin.get(short.headers["Location"]).get_data(as_text=True)
    admin.post("/moderate/admin/moderators", {"email": "Sara@Journal.fr", "name": "Sara", "role": "viewer",
                                              "language": "en", "password": PASSWORD})
    with app.app_context():
        sara = db.session.scalars(sa.select(Moderator).where(Moderator.email == "sara@journal.fr")).one()
    assert log_in(app.test_client(), "sara@journal.fr").status_code == 302
    admin.post(f"/moderate/admin/moderators/{sara.id}/role", {"role": "moderator"})
    admin.post(f"/moderate/admin/moderators/{sara.id}/active", {"active": "0"})
    with app.app_context():
        sara = db.session.get(Moderator, sara.id)
        assert (sara.role, sara.active, sara.language) == ("moderator", False, "en")
    admin_actions = [a for a in audit_actions(app) if a.startswith("moderator.")]
    assert admin_actions == ["moderator.created", "moderator.role", "moderator.disabled"]
    with app.app_context():
        me = db.session.scalars(sa.select(Moderator).where(Moderator.role == "admin")).one()
    refused = admin.post(f"/moderate/admin/moderators/{me.id}/active", {"active": "0"})
    assert "Vous ne pouvez pas désactiver votre propre compte." in admin.get(refused.headers["Location"]).get_data(as_text=True)


def test_token_is_shown_once_and_can_be_revoked(app, console_as):
    admin = console_as("admin")
    created = admin.post("/moderate/admin/tokens", {"email": "nadia@journal.fr"}).get_data(as_text=True)
    token = re.search(r'<code class="token">(mt_[^<]+)</code>', created).group(1)
    listing = admin.get("/moderate/admin/tokens").get_data(as_text=True)
    assert token not in listing and token[:10] in listing
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    admin.post(f"/moderate/admin/tokens/{token_id}/revoke")
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
    assert audit_actions(app)[-2:] == ["token.created", "token.revoked"]


def test_site_settings_are_saved_and_checked(app, console_as, site):
    admin = console_as("admin")
    admin.post(f"/moderate/admin/sites/{site.id}", {"link_limit": "3", "report_threshold": "5",
                                                    "allow_list_auto_approve": "1", "trusted_author_after": "10"})
    with app.app_context():
        saved = db.session.get(Site, site.id)
        assert (saved.link_limit, saved.report_threshold, saved.allow_list_auto_approve, saved.trusted_author_after) \
            == (3, 5, True, 10)
    bad = admin.post(f"/moderate/admin/sites/{site.id}", {"link_limit": "beaucoup", "report_threshold": "5"})
    assert "Valeur invalide pour : link_limit." in admin.get(bad.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Site, site.id).link_limit == 3
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "site.settings")).one()
        assert entry.details["before"]["link_limit"] == 2 and entry.details["after"]["link_limit"] == 3


def test_dashboard_backlog_oldest_delays_and_moderators(app, console_as, add_comment):
    waiting = add_comment(created_at=NOW - dt.timedelta(hours=5))
    decided = [add_comment(created_at=NOW - dt.timedelta(minutes=m)) for m in (30, 90)]
    nadia = console_as("moderator")
    for comment_id in decided:
        nadia.post(f"/moderate/comments/{comment_id}/decision", {"action": "approve"}, fetch=True)
    with app.app_context():
        for comment_id, minutes_ago in zip(decided, (20, 40)):  # a decision made yesterday, for the chart
            db.session.add(Decision(comment_id=comment_id, actor="nadia@journal.fr", action="reject", reason_code="spam",
                                    from_status="approved", to_status="rejected", reasons=[],
                                    created_at=NOW - dt.timedelta(days=1, minutes=minutes_ago)))
        db.session.commit()
    body = console_as("viewer").get("/moderate/dashboard").get_data(as_text=True)
    assert re.search(r"À modérer</a></th><td class=\"num\">1</td>", body)
    assert re.search(r"en attente depuis 5\s+heures", body)  # CLDR puts a no-break space there
    assert '<polyline class="line p50" points="' in body and "<circle" in body
    assert re.search(r"<bdi>nadia@journal.fr</bdi></th><td class=\"num\">2</td>", body)
    assert waiting
