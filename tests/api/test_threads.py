"""Public threads of an article: only published comments, threaded, paginated, cacheable."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from moderation.core.models import Comment
from moderation.core.status import CommentStatus
from moderation.extensions import db
from tests.conftest import valid_comment


def publish(app, *ids):
    # The review use cases belong to the console issue; here we only need published rows.
    with app.app_context():
        db.session.execute(
            sa.update(Comment).where(Comment.id.in_(ids)).values(
                status=CommentStatus.APPROVED, published_at=dt.datetime.now(dt.timezone.utc))
        )
        db.session.commit()


def submit(client, auth, **changes):
    body = valid_comment(author_ip="198.51.100.7", author_user_agent="Mozilla/5.0", **changes)
    return client.post("/api/v1/comments", json=body, headers=auth).get_json()["id"]


def thread(client, auth, article="2026-11-29-budget", **params):
    return client.get(f"/api/v1/articles/{article}/comments", headers=auth, query_string=params)


def test_only_published_comments_are_shown_threaded_and_without_private_data(client, auth, app):
    root = submit(client, auth, content="Premier")
    reply = submit(client, auth, content="Réponse", parent_id=root)
    nested = submit(client, auth, content="Réponse à la réponse", parent_id=reply)
    hidden = submit(client, auth, content="En attente")
    publish(app, root, reply, nested)

    response = thread(client, auth)
    assert response.status_code == 200
    page = response.get_json()
    assert page["total_published"] == 3
    assert [c["id"] for c in page["comments"]] == [root]
    first = page["comments"][0]
    assert [r["id"] for r in first["replies"]] == [reply]
    assert [r["id"] for r in first["replies"][0]["replies"]] == [nested]
    text = response.get_data(as_text=True)
    assert "amina@example.org" not in text and "198.51.100.7" not in text and "Mozilla" not in text
    assert str(hidden) not in {str(c["id"]) for c in page["comments"]}


def test_cursor_pagination_walks_every_top_level_comment_once(client, auth, app):
    ids = [submit(client, auth, content=f"Commentaire {n}") for n in range(7)]
    publish(app, *ids)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = thread(client, auth, **params).get_json()
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def test_etag_lets_the_site_cache_until_something_changes(client, auth, app):
    first_id = submit(client, auth, content="Un")
    publish(app, first_id)
    first = thread(client, auth)
    etag = first.headers["ETag"]
    assert thread(client, auth, **{}).headers["ETag"] == etag
    cached = client.get("/api/v1/articles/2026-11-29-budget/comments", headers={**auth, "If-None-Match": etag})
    assert cached.status_code == 304
    publish(app, submit(client, auth, content="Deux"))
    changed = client.get("/api/v1/articles/2026-11-29-budget/comments", headers={**auth, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_bad_cursor_and_limit_are_problems(client, auth):
    for params in ({"cursor": "not-a-cursor!"}, {"limit": 0}, {"limit": 1000}, {"limit": "abc"}):
        response = thread(client, auth, **params)
        assert response.status_code == 422, params
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"]


def test_other_sites_threads_are_separate(client, auth, app):
    from moderation.core.sites import create_site

    publish(app, submit(client, auth))
    with app.app_context():
        _site, other_key = create_site(db.session, "Autre")
    page = thread(client, {"Authorization": f"Bearer {other_key}"}).get_json()
    assert page["comments"] == [] and page["total_published"] == 0
