"""Queue pages and the comment card as a moderator sees them."""
from __future__ import annotations

import datetime as dt
import re

from moderation.core.models import Report
from moderation.extensions import db
from tests.ui.conftest import NOW


def row_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="row[^"]*" data-id="(\d+)"', response.get_data(as_text=True))]


def test_pending_queue_riskiest_first_with_counts_on_every_tab(app, console_as, add_comment):
    low = add_comment(risk=0.2, content="Bon article")
    high = add_comment(risk=0.95, spam_score=0.95, content="Gagnez au casino")
    add_comment(status="approved", content="Publié")
    add_comment(status="spam", content="Pub")
    page = console_as("viewer").get("/moderate/queue/pending")
    assert row_ids(page) == [high, low]
    body = page.get_data(as_text=True)
    for label, count in (("À modérer", 2), ("Signalés", 0), ("Spam", 1), ("Approuvés", 1), ("Refusés", 0)):
        assert re.search(rf'{label} <span class="count">{count}</span>', body), label
    assert row_ids(console_as("viewer").get("/moderate/queue/approved")) != [high, low]


def test_filters_and_search(app, console_as, add_comment):
    spam = add_comment(risk=0.9, spam_score=0.9, content="Crypto gratuite", author_name="Bot")
    abusive = add_comment(risk=0.8, abuse_score=0.8, content="Espèce d'idiot", article_id="autre")
    arabic = add_comment(risk=0.3, detected_language="ar", content="مقال رائع", author_name="أمين",
                         author_email="amine@example.ma", author_ip="198.51.100.9")
    old = add_comment(risk=0.2, content="Ancien", created_at=NOW - dt.timedelta(days=10))
    viewer = console_as("viewer")

    def ids(query: str) -> list[int]:
        return row_ids(viewer.get(f"/moderate/queue/pending?{query}"))

    assert ids("likely_spam=1") == [spam]
    assert ids("likely_abusive=1") == [abusive]
    assert ids("lang=ar") == [arabic]
    assert ids("article=autre") == [abusive]
    assert ids("q=crypto") == [spam]
    assert ids("author=%D8%A3%D9%85%D9%8A%D9%86") == [arabic]
    assert ids("email=amine@example.ma") == [arabic]
    assert ids("ip=198.51.100.9") == [arabic]
    ten_days_ago = (NOW - dt.timedelta(days=10)).date().isoformat()
    assert ids(f"since={ten_days_ago}&until={ten_days_ago}") == [old]
    assert old not in ids(f"since={(NOW - dt.timedelta(days=1)).date().isoformat()}")
    invalid = viewer.get("/moderate/queue/pending?since=hier")
    assert "Date invalide ignorée" in invalid.get_data(as_text=True) and len(row_ids(invalid)) == 4


def test_keyset_next_page_keeps_the_filters(app, console_as, add_comment):
    ids = [add_comment(risk=0.5 + n / 100, content=f"texte {n}") for n in range(25)]
    viewer = console_as("viewer")
    first = viewer.get("/moderate/queue/pending?q=texte")
    assert row_ids(first) == ids[::-1][:20]
    next_link = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert "q=texte" in next_link and "cursor=" in next_link
    second = viewer.get(next_link)
    assert row_ids(second) == ids[::-1][20:]
    assert 'rel="next"' not in second.get_data(as_text=True)
    broken = viewer.get("/moderate/queue/pending?cursor=%%%")
    assert broken.status_code == 302


def test_card_shows_everything_a_moderator_needs(app, console_as, add_comment):
    parent = add_comment(status="approved", content="Le budget est raisonnable.", author_name="Paul")
    reply = add_comment(
        parent_id=parent, risk=0.9, spam_score=0.12, abuse_score=0.87, author_name="Karim",
        author_email="karim.b@example.org", author_ip="203.0.113.50",
        content="Tu es un IDIOT & un menteur <b>vraiment</b>",
        explanation={"spam": [], "abuse": [{"term": "idiot", "weight": 1.2}, {"term": "menteur", "weight": 0.4}]},
        reasons=[{"code": "likely_abusive", "head": "abuse", "score": 0.87, "threshold": 0.5},
                 {"code": "watched_term", "term": "menteur", "matched": "menteur"}],
    )
    add_comment(author_email="karim.b@example.org", status="rejected", created_at=NOW - dt.timedelta(days=30))
    body = console_as("viewer").get(f"/moderate/comments/{reply}").get_data(as_text=True)
    assert "Tu es un <mark>IDIOT</mark> &amp; un <mark>menteur</mark> &lt;b&gt;vraiment&lt;/b&gt;" in body
    assert '<meter min="0" max="1" low="0.5" high="0.8" optimum="0" value="0.870">87 %</meter>' in body
    assert "Spam" in body and "12 %" in body and "Abus" in body
    assert "Probablement abusif (score 0,87)" in body and "Terme surveillé : menteur" in body
    assert "En réponse à <bdi>Paul</bdi> · approuvé" in body and "Le budget est raisonnable." in body
    assert 'href="https://journal.example/budget"' in body and "Le budget 2027 adopté" in body
    assert '<bdi class="author-name">Karim</bdi>' in body and "k•••@example.org" in body and "karim.b@example.org" not in body
    assert "203.0.113.50" in body
    assert "1 refusé</span>" in body and "0 approuvé</span>" in body and "1 en attente" in body and "vu pour la première fois" in body


def test_javascript_article_links_are_not_clickable(app, console_as, add_comment):
    comment_id = add_comment(article_url="javascript:alert(1)")
    body = console_as("viewer").get(f"/moderate/comments/{comment_id}").get_data(as_text=True)
    assert "javascript:" not in body


def test_reported_queue_shows_the_reports(app, console_as, add_comment):
    comment_id = add_comment(status="approved", reported_at=NOW)
    with app.app_context():
        db.session.add(Report(comment_id=comment_id, reason="insult", detail="il insulte", created_at=NOW))
        db.session.commit()
    body = console_as("moderator").get("/moderate/queue/reported").get_data(as_text=True)
    assert "Signalement de lecteur : Insulte ou harcèlement" in body and "il insulte" in body
    assert "Garder publié (classer les signalements)" in body and "Dépublier" in body


def test_card_fragment_is_the_card_alone(app, console_as, add_comment):
    comment_id = add_comment()
    fragment = console_as("moderator").get(f"/moderate/comments/{comment_id}/card")
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith("<article") and "<html" not in body
