"""The console's actions on the JSON API, with moderators' personal tokens; readers' reports."""
from __future__ import annotations

import datetime as dt

import pytest

from moderation.core.moderators import create_moderator, create_token
from moderation.extensions import db
from tests.conftest import valid_comment


@pytest.fixture
def tokens(app):
    with app.app_context():
        now = dt.datetime.now(dt.timezone.utc)
        made = {}
        for role in ("admin", "moderator", "viewer"):
            create_moderator(db.session, f"{role}@journal.ma", "correct horse battery", role=role)
            made[role] = {"Authorization": f"Bearer {create_token(db.session, f'{role}@journal.ma', now)}"}
    return made


def submit(client, auth, **changes):
    return client.post("/api/v1/comments", json=valid_comment(**changes), headers=auth).get_json()


def test_queue_lists_pending_comments_riskiest_first_with_counts(client, auth, tokens, fake_scorer):
    calm = submit(client, auth, content="Merci pour cet article")
    rude = submit(client, auth, content="Quel idiot ce ministre")
    page = client.get("/api/v1/queues/pending", headers=tokens["viewer"]).get_json()
    assert [c["id"] for c in page["comments"]] == [rude["id"], calm["id"]]
    assert page["counts"]["pending"] == 2 and page["counts"]["approved"] == 0
    assert page["comments"][0]["author_email"] == "amina@example.org"
    abusive = client.get("/api/v1/queues/pending?likely_abusive=true", headers=tokens["viewer"]).get_json()
    assert [c["id"] for c in abusive["comments"]] == [rude["id"]]


def test_queue_pages_walk_the_whole_queue_once(client, auth, tokens):
    ids = {submit(client, auth, content=f"commentaire {n}")["id"] for n in range(7)}
    seen, cursor = [], None
    while True:
        url = "/api/v1/queues/pending?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=tokens["viewer"]).get_json()
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7


def test_search_by_email_text_and_ip(client, auth, tokens):
    submit(client, auth, author_email="youssef@example.org", author_ip="198.51.100.4", content="Le budget 2027")
    submit(client, auth, content="Autre chose")
    for query in ("email=youssef@example.org", "q=budget", "ip=198.51.100.4"):
        page = client.get(f"/api/v1/queues/pending?{query}", headers=tokens["viewer"]).get_json()
        assert [c["author_email"] for c in page["comments"]] == ["youssef@example.org"], query


def test_decision_conflict_and_history(client, auth, tokens):
    comment = submit(client, auth)
    url = f"/api/v1/comments/{comment['id']}/decision"
    first = client.post(url, json={"action": "approve", "version": 1}, headers=tokens["moderator"])
    assert first.status_code == 200 and first.get_json()["status"] == "approved"
    second = client.post(url, json={"action": "reject", "reason": "spam", "version": 1}, headers=tokens["admin"])
    assert second.status_code == 409
    assert second.mimetype == "application/problem+json"
    assert "already approved by moderator@journal.ma" in second.get_json()["detail"]
    detail = client.get(f"/api/v1/moderation/comments/{comment['id']}", headers=tokens["viewer"]).get_json()
    assert [h["action"] for h in detail["history"]] == ["received", "approve"]
    assert detail["author"]["counts"]["approved"] == 1


def test_roles_viewer_reads_moderator_decides_admin_manages_rules(client, auth, tokens):
    comment = submit(client, auth)
    url = f"/api/v1/comments/{comment['id']}/decision"
    assert client.post(url, json={"action": "approve"}, headers=tokens["viewer"]).status_code == 403
    rule = {"kind": "blocked_term", "value": "connard"}
    assert client.post("/api/v1/rules", json=rule, headers=tokens["moderator"]).status_code == 403
    created = client.post("/api/v1/rules", json=rule, headers=tokens["admin"])
    assert created.status_code == 201
    assert [r["value"] for r in client.get("/api/v1/rules", headers=tokens["viewer"]).get_json()] == ["connard"]
    assert client.delete(f"/api/v1/rules/{created.get_json()['id']}", headers=tokens["admin"]).status_code == 204
    assert client.get("/api/v1/queues/pending", headers=auth).status_code == 401  # a site key is not a moderator


def test_bulk_decision_summary(client, auth, tokens):
    ids = [submit(client, auth, content=f"c{n}")["id"] for n in range(3)]
    response = client.post("/api/v1/decisions/bulk", json={"ids": ids + [424242], "action": "approve"},
                           headers=tokens["moderator"])
    assert response.get_json() == {"done": ids, "skipped": [{"id": 424242, "why": "not-found"}]}


def test_reject_without_reason_is_a_clear_error(client, auth, tokens):
    comment = submit(client, auth)
    response = client.post(f"/api/v1/comments/{comment['id']}/decision", json={"action": "reject"},
                           headers=tokens["moderator"])
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_reports_send_a_published_comment_to_the_reported_queue(client, auth, tokens):
    comment = submit(client, auth)
    report_url = f"/api/v1/comments/{comment['id']}/reports"
    assert client.post(report_url, json={"reason": "insult"}, headers=auth).status_code == 404  # not published
    client.post(f"/api/v1/comments/{comment['id']}/decision", json={"action": "approve"}, headers=tokens["moderator"])
    answers = [client.post(report_url, json={"reason": "insult"}, headers=auth).get_json() for _ in range(3)]
    assert [a["in_reported_queue"] for a in answers] == [False, False, True]
    reported = client.get("/api/v1/queues/reported", headers=tokens["viewer"]).get_json()
    assert [c["id"] for c in reported["comments"]] == [comment["id"]]
    # The moderator unpublishes it: it leaves the reported queue.
    client.post(f"/api/v1/comments/{comment['id']}/decision", json={"action": "reject", "reason": "insult"},
                headers=tokens["moderator"])
    assert client.get("/api/v1/queues/reported", headers=tokens["viewer"]).get_json()["comments"] == []
    bad = client.post(report_url, json={"reason": "je n'aime pas"}, headers=auth)
    assert bad.status_code in (404, 422)
