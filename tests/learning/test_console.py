"""The model page: admins only, versions, the threshold what-if on a tiny known set, saving a threshold, quality."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from moderation.core.models import AuditEntry, Comment, utcnow
from moderation.extensions import db
from moderation.learning import insights
from moderation.learning.insights import Scored, Week, drift, queue_of, what_if
from moderation.learning.models import Label, ThresholdOverride
from tests.conftest import FakeScorer
from tests.ui.conftest import ACCOUNTS, Console, PASSWORD  # noqa: F401  (the console's own login helpers)

T = {"spam": {"flag": 0.5, "auto_spam": 0.95, "auto_approve": 0.1},
     "abuse": {"flag": 0.6, "auto_spam": 1.0, "auto_approve": 0.1}}
# Eight comments with known scores and moderators' spam labels (None: not decided).
KNOWN = [Scored(0.97, 0.01, {"spam": 1}), Scored(0.80, 0.02, {"spam": 1}), Scored(0.55, 0.05, {"spam": 0}),
         Scored(0.45, 0.03, {"spam": 1}), Scored(0.30, 0.70, {"spam": 0, "abuse": 1}), Scored(0.20, 0.02, {}),
         Scored(0.05, 0.05, {"spam": 0}), Scored(0.02, 0.01, {"spam": 0})]


def test_what_if_numbers_on_a_tiny_known_set():
    now = what_if(KNOWN, T, "spam", "flag", 0.5, auto_spam=True, auto_approve=True)
    assert now.before == now.after == {"auto_spam": 1, "flagged": 3, "unflagged": 2, "auto_approved": 2}
    # score >= 0.5 on the 7 spam-labelled: 0.97, 0.80 (spam) and 0.55 (not) are caught, 0.45 is missed.
    assert (now.labelled, now.positives, now.precision, now.recall) == (7, 3, 2 / 3, 2 / 3)

    lower = what_if(KNOWN, T, "spam", "flag", 0.4, auto_spam=True, auto_approve=True)
    assert lower.after == {"auto_spam": 1, "flagged": 4, "unflagged": 1, "auto_approved": 2}
    assert (lower.precision, lower.recall) == (3 / 4, 1.0)

    higher = what_if(KNOWN, T, "spam", "flag", 0.9, auto_spam=False, auto_approve=False)
    assert higher.before == {"auto_spam": 0, "flagged": 4, "unflagged": 4, "auto_approved": 0}
    assert higher.after == {"auto_spam": 0, "flagged": 2, "unflagged": 6, "auto_approved": 0}  # 0.97 and abuse 0.70
    assert (higher.precision, higher.recall) == (1.0, 1 / 3)
    assert what_if([], T, "abuse", "flag", 0.5, auto_spam=False, auto_approve=False).precision is None


def test_queue_of_mirrors_the_policy_order():
    assert queue_of(Scored(0.99, 0.99, {}), T, True, True) == "auto_spam"
    assert queue_of(Scored(0.99, 0.99, {}), T, False, True) == "flagged"
    assert queue_of(Scored(0.05, 0.61, {}), T, True, True) == "flagged"
    assert queue_of(Scored(0.05, 0.2, {}), T, True, True) == "unflagged"


def test_drift_warns_when_a_week_is_well_above_the_weeks_before():
    start = dt.date(2026, 10, 5)
    weeks = [Week(start + dt.timedelta(weeks=k), 50, over) for k, over in enumerate([5, 6, 4, 5, 15])]
    assert drift(weeks) == ("week of 2026-11-02: moderators overturned 30% of the model's verdicts, "
                            "against 10% on average the 4 weeks before")
    assert drift(weeks[:4]) is None
    assert drift(weeks[:4] + [Week(start + dt.timedelta(weeks=4), 10, 9)]) is None  # too few decisions to say


@pytest.fixture
def wired_app(make_app):
    from moderation import learning

    app = make_app(CONSOLE_SECURE_COOKIES=False)
    learning.init_app(app)
    return app


@pytest.fixture
def admin(wired_app):
    from moderation.core.moderators import create_moderator

    with wired_app.app_context():
        create_moderator(db.session, "alice@journal.fr", PASSWORD, role="admin", name="Alice")
        create_moderator(db.session, "nadia@journal.fr", PASSWORD, role="moderator", name="Nadia")
    return Console(wired_app.test_client(), "alice@journal.fr")


def _add_scored(app, now):
    from moderation.core.sites import create_site

    with app.app_context():
        site = create_site(db.session, "Le Journal")[0]
        for n, s in enumerate(KNOWN):
            reasons = [{"code": "likely_spam"}] if s.spam >= 0.5 else []
            comment = Comment(site_id=site.id, article_id="a", author_name="A", author_email=f"a{n}@x.org",
                              content=f"texte {n}", content_hash=f"h{n}", spam_score=s.spam, abuse_score=s.abuse,
                              model_version="fake-1", reasons=reasons, created_at=now - dt.timedelta(days=2),
                              updated_at=now)
            db.session.add(comment)
            db.session.flush()
            for head, value in s.labels.items():
                db.session.add(Label(site_id=site.id, comment_id=comment.id, head=head, value=value,
                                     source="decision", text=comment.content, text_hash=f"t{n}", language="fr",
                                     created_at=now - dt.timedelta(days=1)))
        old = Comment(site_id=site.id, article_id="a", author_name="A", author_email="old@x.org", content="vieux",
                      content_hash="old", spam_score=0.99, abuse_score=0.99, model_version="fake-1",
                      created_at=now - dt.timedelta(days=40), updated_at=now)
        db.session.add(old)
        db.session.commit()


def test_the_model_page_is_for_admins_and_shows_the_what_if(wired_app, admin):
    now = utcnow()
    _add_scored(wired_app, now)
    wired_app.extensions["moderation.models"].swap(FakeScorer())  # flag 0.5 on both heads
    page = admin.get("/moderate/models/?head=spam&name=flag&value=0.4")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Et si le seuil changeait ? 30 derniers jours" in html and "<svg" in html and "fake-1" in html  # French by default
    # The 40-day-old comment is outside the window: 8 comments, flag 0.5 -> 4 held (spam 0.97/0.80/0.55, abuse 0.70).
    assert "<th scope=\"row\">À modérer, signalés</th><td class=\"num\">4</td><td class=\"num\">5</td>" in html
    assert "precision 75 %, recall 100 %" in html
    assert "style=" not in html.split("<main>")[1]  # the CSP forbids inline styles

    nadia = Console(wired_app.test_client(), "nadia@journal.fr")
    assert nadia.get("/moderate/models/").status_code == 403
    assert wired_app.test_client().get("/moderate/models/").status_code == 302  # to the login page


def test_saving_a_threshold_writes_the_override_and_an_audit_entry(wired_app, admin):
    response = admin.post("/moderate/models/threshold", data={"head": "abuse", "name": "flag", "value": "0.42"})
    assert response.status_code == 302
    with wired_app.app_context():
        override = db.session.scalars(sa.select(ThresholdOverride)).one()
        assert (override.head, override.name, override.value) == ("abuse", "flag", 0.42)
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "threshold.changed")).one()
        assert entry.target == "abuse.flag" and entry.details["after"] == 0.42 and entry.details["before"] is None
    bad = admin.post("/moderate/models/threshold", data={"head": "abuse", "name": "flag", "value": "7"})
    assert bad.status_code == 302
    with wired_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "threshold.changed")) == 1
    # Without the CSRF token nothing is saved.
    refused = admin.client.post("/moderate/models/threshold", data={"head": "abuse", "name": "flag", "value": "0.3"})
    assert refused.status_code in (400, 403)


def test_quality_by_week_counts_overturned_verdicts(wired_app):
    now = utcnow()
    _add_scored(wired_app, now)
    with wired_app.app_context():
        weeks = insights.quality_by_week(db.session, now)
    decided = [w for w in weeks if w.decided]
    assert sum(w.decided for w in decided) == 7
    # Verdicts: flagged spam for scores >= 0.5. Overturned: 0.55 (approved), 0.45 (spam missed),
    # and 0.30 (rejected for abuse that the model did not flag).
    assert sum(w.overturned for w in decided) == 3


def test_versions_and_the_learning_curve_after_a_retrain_and_a_promotion_from_the_page(make_app, base_models_dir):
    from moderation import learning
    from moderation.core.moderators import create_moderator
    from moderation.learning.registry import current_version
    from moderation.learning.retrain import retrain
    from tests.learning.conftest import NOW, add_site_labels

    app = make_app(CONSOLE_SECURE_COOKIES=False, MODELS_DIR=str(base_models_dir))
    learning.init_app(app)
    settings = app.extensions["moderation.learning.settings"]
    with app.app_context():
        create_moderator(db.session, "alice@journal.fr", PASSWORD, role="admin", name="Alice")
        add_site_labels(db.session, 150)
        outcome = retrain(db.session, settings=settings, now=NOW)
    admin = Console(app.test_client(), "alice@journal.fr")
    html = admin.get("/moderate/models/").get_data(as_text=True)
    assert outcome.version in html and "retrain (automatic)" in html and "<circle" in html
    assert "base-1" in html and "shipped" in html

    assert admin.post("/moderate/models/rollback").status_code == 302
    with app.app_context():
        assert current_version(db.session, settings) == "base-1"
    assert admin.post("/moderate/models/promote", data={"version": outcome.version}).status_code == 302
    with app.app_context():
        assert current_version(db.session, settings) == outcome.version
    html = admin.get("/moderate/models/").get_data(as_text=True)
    assert "moderator:alice@journal.fr" in html
