"""The console in a real browser: keyboard work, bulk approval, right-to-left text, inert XSS, CSRF, screenshots."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from moderation.core.models import Comment, Decision, Moderator, Report
from moderation.core.status import CommentStatus
from moderation.extensions import db
from tests.ui.conftest import ACCOUNTS, NOW, browser_log_in

SHARED_SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "screenshots"
XSS = '<script>alert("xss")</script><img src=x onerror="alert(1)">"\'><svg onload=alert(2)>'


def statuses(app, ids):
    with app.app_context():
        return [db.session.get(Comment, i).status for i in ids]


def card_id(page) -> str:
    return page.locator("article.card").get_attribute("data-id")


def save_screenshot(locator_or_page, tmp_path, name: str) -> Path:
    """Into the test's own folder, and the latest copy where the team can look at it."""
    target = tmp_path / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    locator_or_page.screenshot(path=str(target))
    SHARED_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target, SHARED_SCREENSHOTS / name)
    return target


def test_work_the_queue_with_the_keyboard(app, accounts, add_comment, page):
    ids = [add_comment(risk=0.9 - n / 10, content=f"Commentaire numéro {n}") for n in range(5)]
    browser_log_in(page, ACCOUNTS["moderator"])
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == \
        ("__Host-moderation", True, True, "Lax", "/")
    assert page.evaluate("document.cookie") == ""  # HttpOnly: page scripts cannot read the session
    expect(page.locator("li.row.is-focused")).to_have_attribute("data-id", str(ids[0]))
    assert card_id(page) == str(ids[0])

    page.keyboard.press("j")
    expect(page.locator("article.card")).to_have_attribute("data-id", str(ids[1]))
    page.keyboard.press("k")
    expect(page.locator("article.card")).to_have_attribute("data-id", str(ids[0]))

    page.keyboard.press("a")  # approve, and the next comment is swapped in without a page load
    expect(page.locator(f'li.row[data-id="{ids[0]}"]')).to_have_class(re.compile("is-done"))
    expect(page.locator("article.card")).to_have_attribute("data-id", str(ids[1]))
    expect(page.locator("#notices")).to_contain_text(f"Commentaire {ids[0]} approuvé.")

    page.keyboard.press("r")
    expect(page.locator("#reason-picker")).to_be_visible()
    expect(page.locator("#reason-picker")).to_contain_text("Menace")
    page.keyboard.press("4")  # threat
    expect(page.locator("article.card")).to_have_attribute("data-id", str(ids[2]))
    expect(page.locator("#reason-picker")).to_be_hidden()

    page.keyboard.press("s")
    expect(page.locator("article.card")).to_have_attribute("data-id", str(ids[3]))

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("Raccourcis clavier")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    # A note typed in the card does not trigger shortcuts.
    page.fill('textarea[name="note"]', "avis sans suite")
    assert statuses(app, ids[3:4]) == [CommentStatus.PENDING]

    assert statuses(app, ids[:3]) == [CommentStatus.APPROVED, CommentStatus.REJECTED, CommentStatus.SPAM]
    with app.app_context():
        rejection = db.session.scalars(sa.select(Decision).where(Decision.comment_id == ids[1])).one()
        assert (rejection.reason_code, rejection.actor) == ("threat", ACCOUNTS["moderator"])
        # Opening a card claimed it for this moderator.
        assert db.session.get(Comment, ids[3]).claimed_by is not None


def test_conflict_is_shown_in_the_page(app, accounts, add_comment, console_as, page):
    first, second = add_comment(risk=0.9), add_comment(risk=0.5)
    browser_log_in(page, ACCOUNTS["moderator"])
    expect(page.locator("article.card")).to_have_attribute("data-id", str(first))
    console_as("admin").post(f"/moderate/comments/{first}/decision", {"action": "approve"})  # a colleague, first
    page.keyboard.press("s")
    expect(page.locator("#notices")).to_contain_text(re.compile(r"Déjà approuvé par admin@journal\.fr à \d\d:\d\d"))
    assert statuses(app, [first, second]) == [CommentStatus.APPROVED, CommentStatus.PENDING]


def test_bulk_approve_a_selection(app, accounts, add_comment, page):
    ids = [add_comment(risk=0.9 - n / 10, content=f"Avis {n}") for n in range(4)]
    browser_log_in(page, ACCOUNTS["moderator"])
    page.keyboard.press("x")
    page.keyboard.press("j")
    expect(page.locator("article.card")).to_have_attribute("data-id", str(ids[1]))
    page.keyboard.press("x")
    page.locator(f'li.row[data-id="{ids[3]}"] input.select').check()
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.click('#bulk-form button[value="approve"]')
    expect(page.locator("#notices")).to_contain_text("3 commentaires traités, 0 ignoré")
    assert statuses(app, ids) == [CommentStatus.APPROVED, CommentStatus.APPROVED, CommentStatus.PENDING,
                                  CommentStatus.APPROVED]
    expect(page.locator("li.row")).to_have_count(1)


def test_arabic_comment_is_shown_right_to_left_and_isolated(app, accounts, add_comment, page):
    comment_id = add_comment(content="هذا المقال ممتاز، شكرا للصحفي على هذا العمل.", author_name="\u202eأمينة العلوي",
                             detected_language="ar", article_title="الميزانية")
    browser_log_in(page, ACCOUNTS["moderator"])
    page.goto(f"/moderate/comments/{comment_id}")
    text = page.locator("article.card .comment-text")
    assert text.evaluate("el => el.matches(':dir(rtl)')") is True
    assert page.locator("article.card .comment-text").evaluate("el => getComputedStyle(el).direction") == "rtl"
    name = page.locator("article.card bdi.author-name")
    assert name.evaluate("el => getComputedStyle(el).unicodeBidi") == "isolate"
    # The page around it stays left to right: the override in the name cannot flip the labels after it.
    assert page.locator("article.card .history").evaluate("el => el.matches(':dir(ltr)')") is True
    expect(page.locator("article.card .history")).to_contain_text("Historique :")


def test_xss_payload_in_every_field_is_shown_as_text(app, accounts, add_comment, page, site, tmp_path):
    parent = add_comment(status="approved", content=XSS, author_name=XSS)
    comment_id = add_comment(
        parent_id=parent, content=f"Regardez {XSS} ici", author_name=XSS, author_email="x@example.org",
        author_ip="<svg onload=alert(3)>", article_title=XSS, article_url="javascript:alert(4)", article_id=XSS[:200],
        detected_language="<b>", risk=0.99, spam_score=0.99, abuse_score=0.5,
        explanation={"spam": [{"term": "<script>", "weight": 1.0}], "abuse": [{"term": "onerror", "weight": 1}]},
        reasons=[{"code": "watched_term", "term": XSS}, {"code": "banned", "target": "email", "value": XSS},
                 {"code": XSS}],
    )
    with app.app_context():
        db.session.add(Report(comment_id=comment_id, reason="insult", detail=XSS, created_at=NOW))
        db.session.commit()
    browser_log_in(page, ACCOUNTS["admin"])
    page.goto("/moderate/queue/pending?q=" + "Regardez")
    expect(page.locator("article.card")).to_have_attribute("data-id", str(comment_id))
    page.goto(f"/moderate/comments/{comment_id}")
    page.click("text=Afficher (journalisé)")
    expect(page.locator("article.card [data-email]")).to_have_text("x@example.org")
    page.goto("/moderate/dashboard")
    page.goto(f"/moderate/comments/{comment_id}")
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('article.card script, article.card img, article.card svg').length") == 0
    expect(page.locator("article.card .comment-text")).to_contain_text('<script>alert("xss")</script>')
    expect(page.locator("article.card .author-name")).to_have_text(XSS)
    expect(page.locator("article.card .card-title")).to_contain_text(XSS)
    assert page.locator('article.card a[href^="javascript:"]').count() == 0
    save_screenshot(page.locator("article.card"), tmp_path, "xss-card.png")


def test_post_without_csrf_token_is_refused(app, accounts, add_comment, page):
    comment_id = add_comment()
    browser_log_in(page, ACCOUNTS["moderator"])
    status = page.evaluate(
        """id => fetch(`/moderate/comments/${id}/decision`, {method: 'POST', headers: {'X-Requested-With': 'fetch'},
                body: new URLSearchParams({action: 'approve'})}).then(r => r.status)""", comment_id)
    assert status == 400
    # A plain form with its token removed: a readable page, and nothing done.
    page.evaluate("document.querySelector('form[action$=\"/logout\"] input[name=csrf_token]').remove()")
    page.click("text=Déconnexion")
    expect(page.locator("main")).to_contain_text("Ce formulaire a expiré ou ne vient pas de la console")
    assert statuses(app, [comment_id]) == [CommentStatus.PENDING]
    page.goto("/moderate/queue/pending")
    expect(page).to_have_url(re.compile(r"/moderate/queue/pending$"))  # still logged in


def _two_weeks_of_decisions(app, add_comment) -> None:
    """Decided comments over 14 days, so the dashboard's chart has something to draw."""
    with app.app_context():
        moderators = {m.email: m.id for m in db.session.scalars(sa.select(Moderator))}
    for day in range(14):
        decided_at = NOW - dt.timedelta(days=day, hours=1)
        for k, minutes in enumerate((5 + day * 3, 20 + day, 45 + (day % 4) * 30, 180 - day * 5)):
            email = ACCOUNTS["moderator"] if k % 3 else ACCOUNTS["admin"]
            comment_id = add_comment(status="approved", created_at=decided_at - dt.timedelta(minutes=minutes),
                                     content=f"ancien {day} {k}")
            with app.app_context():
                db.session.add(Decision(comment_id=comment_id, actor=email, moderator_id=moderators[email],
                                        action="approve", from_status="pending", to_status="approved", reasons=[],
                                        created_at=decided_at))
                db.session.commit()


def test_screenshots_of_the_queue_and_a_card(app, accounts, add_comment, page, tmp_path):
    parent = add_comment(status="approved", author_name="Paul Martin", content="Le budget reste raisonnable vu la conjoncture.")
    add_comment(author_name="Karim B.", author_email="karim.b@example.org", parent_id=parent, risk=0.91, spam_score=0.08,
                abuse_score=0.91, content="Tu racontes n'importe quoi, espèce d'idiot. Les menteurs comme toi devraient se taire.",
                explanation={"spam": [], "abuse": [{"term": "idiot", "weight": 1.3}, {"term": "menteurs", "weight": 0.5}]},
                reasons=[{"code": "likely_abusive", "head": "abuse", "score": 0.91, "threshold": 0.5},
                         {"code": "watched_term", "term": "menteur*", "matched": "menteurs"}])
    add_comment(author_name="PromoBot", risk=0.97, spam_score=0.97, abuse_score=0.02,
                content="Gagnez 500 € par jour au casino en ligne : http://promo.example http://promo2.example",
                explanation={"spam": [{"term": "casino", "weight": 2.1}, {"term": "gagnez", "weight": 0.8}], "abuse": []},
                reasons=[{"code": "likely_spam", "head": "spam", "score": 0.97, "threshold": 0.5},
                         {"code": "too_many_links", "links": 2, "limit": 2}])
    add_comment(author_name="أمينة العلوي", risk=0.55, spam_score=0.1, abuse_score=0.55, detected_language="ar",
                content="هذا المقال منحاز ولا يعكس رأي المواطنين.")
    add_comment(author_name="Claire", risk=0.12, content="Merci pour cette analyse claire et sourcée.")
    _two_weeks_of_decisions(app, add_comment)
    browser_log_in(page, ACCOUNTS["moderator"])
    page.keyboard.press("j")
    expect(page.locator("article.card")).to_contain_text("Karim B.")
    queue = save_screenshot(page, tmp_path, "queue.png")
    card = save_screenshot(page.locator("article.card"), tmp_path, "card.png")
    page.goto("/moderate/dashboard")
    expect(page.locator("svg.chart polyline.p50")).to_be_visible()
    save_screenshot(page, tmp_path, "dashboard.png")
    assert queue.stat().st_size > 10_000 and card.stat().st_size > 5_000
    assert page.dialogs == []
