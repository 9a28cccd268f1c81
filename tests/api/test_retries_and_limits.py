"""Retries, duplicates at once, floods, rate limits and an unavailable database."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from moderation.core.models import Comment, IdempotencyKey
from moderation.extensions import db
from tests.conftest import valid_comment


def post(client, auth, body, **headers):
    return client.post("/api/v1/comments", json=body, headers={**auth, **headers})


def count_comments(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Comment.id)))


def test_same_idempotency_key_and_body_replays_the_first_response(client, auth, app):
    first = post(client, auth, valid_comment(), **{"Idempotency-Key": "k-1"})
    second = post(client, auth, valid_comment(), **{"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 202
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count_comments(app) == 1


def test_same_key_with_another_body_is_422_and_creates_nothing(client, auth, app):
    post(client, auth, valid_comment(), **{"Idempotency-Key": "k-2"})
    response = post(client, auth, valid_comment(content="Autre chose"), **{"Idempotency-Key": "k-2"})
    assert response.status_code == 422
    assert response.get_json()["type"].endswith("/idempotency-key-reused")
    assert count_comments(app) == 1


def test_keys_are_scoped_per_site(client, auth, app):
    from moderation.core.sites import create_site

    with app.app_context():
        _site, other_key = create_site(db.session, "Autre")
    post(client, auth, valid_comment(), **{"Idempotency-Key": "shared"})
    other = post(client, {"Authorization": f"Bearer {other_key}"}, valid_comment(), **{"Idempotency-Key": "shared"})
    assert other.status_code == 202
    assert count_comments(app) == 2


def test_a_failed_request_does_not_burn_its_key(client, auth, app):
    bad_parent = post(client, auth, valid_comment(parent_id=999), **{"Idempotency-Key": "k-3"})
    assert bad_parent.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(IdempotencyKey.id))) == 0


def test_in_flight_key_is_409(client, auth, app):
    import datetime as dt

    from moderation.core.idempotency import fingerprint
    from moderation.core.models import Site

    body = valid_comment()
    with app.app_context():
        site = db.session.scalar(sa.select(Site))
        db.session.add(IdempotencyKey(site_id=site.id, key="busy", fingerprint=fingerprint(body),
                                      created_at=dt.datetime.now(dt.timezone.utc)))
        db.session.commit()
    response = post(client, auth, body, **{"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("/idempotency-key-in-flight")


def test_expired_key_can_be_used_again(client, auth, app):
    import datetime as dt

    post(client, auth, valid_comment(), **{"Idempotency-Key": "old"})
    with app.app_context():
        db.session.execute(sa.update(IdempotencyKey).values(
            created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=25)))
        db.session.commit()
    again = post(client, auth, valid_comment(content="Nouveau"), **{"Idempotency-Key": "old"})
    assert again.status_code == 202
    assert count_comments(app) == 2


def _post_at_once(app, auth, bodies_and_headers):
    results = [None] * len(bodies_and_headers)
    barrier = threading.Barrier(len(bodies_and_headers))

    def worker(index, body, headers):
        client = app.test_client()
        barrier.wait()
        results[index] = post(client, auth, body, **headers)

    threads = [threading.Thread(target=worker, args=(i, b, h)) for i, (b, h) in enumerate(bodies_and_headers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_identical_requests_at_once_create_one_comment(app, auth):
    responses = _post_at_once(app, auth, [(valid_comment(), {})] * 2)
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 202 and codes[1] in (409, 429)
    assert count_comments(app) == 1


def test_two_retries_with_one_key_at_once_create_one_comment(app, auth):
    responses = _post_at_once(app, auth, [(valid_comment(), {"Idempotency-Key": "same"})] * 2)
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 202 and codes[1] in (202, 409)
    assert count_comments(app) == 1


def test_flood_from_the_same_email_or_ip_is_429_with_retry_after(make_app):
    from moderation.core.sites import create_site

    app = make_app(FLOOD_INTERVAL_SECONDS=15)
    with app.app_context():
        _site, key = create_site(db.session, "Flood")
    auth = {"Authorization": f"Bearer {key}"}
    client = app.test_client()
    assert post(client, auth, valid_comment(author_ip="203.0.113.9")).status_code == 202
    same_email = post(client, auth, valid_comment(content="encore"))
    assert same_email.status_code == 429
    assert 1 <= int(same_email.headers["Retry-After"]) <= 15
    assert same_email.get_json()["type"].endswith("/flood")
    same_ip = post(client, auth, valid_comment(author_email="autre@example.org", author_ip="203.0.113.9", content="x"))
    assert same_ip.status_code == 429
    other = post(client, auth, valid_comment(author_email="autre@example.org", author_ip="203.0.113.10", content="y"))
    assert other.status_code == 202


def test_per_site_rate_limit_is_429_with_retry_after(make_app):
    from moderation.core.sites import create_site

    app = make_app(RATELIMIT_INTAKE="3 per minute")
    with app.app_context():
        _site, key = create_site(db.session, "Limited")
        _other, other_key = create_site(db.session, "Other")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    codes = [post(client, auth, valid_comment(content=f"c{n}")).status_code for n in range(4)]
    assert codes == [202, 202, 202, 429]
    limited = post(client, auth, valid_comment(content="c5"))
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert post(client, {"Authorization": f"Bearer {other_key}"}, valid_comment()).status_code == 202


def test_database_unavailable_is_503_and_nothing_accepted_is_lost(make_app, tmp_path):
    import sqlite3

    from moderation.core.sites import create_site
    from tests.conftest import PG_URL

    if PG_URL:
        app = make_app()
        with app.app_context():
            _site, key = create_site(db.session, "PG")
        auth = {"Authorization": f"Bearer {key}"}
        client = app.test_client()
        assert post(client, auth, valid_comment()).status_code == 202
        down = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/test")
        response = post(down.test_client(), auth, valid_comment(content="perdu ?"))
    else:
        app = make_app(DB_BUSY_TIMEOUT_MS=100)
        with app.app_context():
            _site, key = create_site(db.session, "Locked")
        auth = {"Authorization": f"Bearer {key}"}
        client = app.test_client()
        assert post(client, auth, valid_comment()).status_code == 202
        # Another process holds the write lock: our writer gives up after the busy timeout.
        blocker = sqlite3.connect(str(tmp_path / "test.sqlite3"), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            response = post(client, auth, valid_comment(content="perdu ?"))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert count_comments(app) == 1
    assert post(app.test_client(), auth, valid_comment(content="perdu ?")).status_code == 202
    assert count_comments(app) == 2


def test_many_writers_at_once_all_get_in_even_with_a_short_busy_timeout(make_app):
    """Threads of one process queue for SQLite's single writer instead of failing as "database is locked"."""
    from moderation.core.sites import create_site

    app = make_app(DB_BUSY_TIMEOUT_MS=20)
    with app.app_context():
        _site, key = create_site(db.session, "Busy")
    auth = {"Authorization": f"Bearer {key}"}
    bodies = [(valid_comment(author_email=f"l{n}@example.org", content=f"Commentaire numéro {n}"), {})
              for n in range(16)]
    for _round in range(3):
        bodies_this_round = [(dict(b, content=b["content"] + f" ({_round})"), h) for b, h in bodies]
        responses = _post_at_once(app, auth, bodies_this_round)
        assert sorted({r.status_code for r in responses}) == [202], [r.get_json() for r in responses]
    assert count_comments(app) == 48


def test_rate_limit_in_redis_is_shared_by_every_process(make_app):
    """With MODERATION_RATELIMIT_STORAGE_URL on Redis, two app instances (two processes) share one budget."""
    import uuid

    import redis

    from moderation.core.sites import create_site

    redis.Redis(host="127.0.0.1", port=6379, db=15).flushdb()
    storage = "redis://127.0.0.1:6379/15"
    first = make_app(RATELIMIT_INTAKE="3 per minute", RATELIMIT_STORAGE_URL=storage)
    with first.app_context():
        _site, key = create_site(db.session, f"Redis {uuid.uuid4().hex[:6]}")
    second = make_app(RATELIMIT_INTAKE="3 per minute", RATELIMIT_STORAGE_URL=storage)
    auth = {"Authorization": f"Bearer {key}"}
    codes = [post(app.test_client(), auth, valid_comment(content=f"r{n}")).status_code
             for n, app in enumerate([first, second, first, second])]
    assert codes == [202, 202, 202, 429]
    assert redis.Redis(host="127.0.0.1", port=6379, db=15).dbsize() > 0


def test_an_unreachable_limit_store_does_not_refuse_comments(make_app):
    from moderation.core.sites import create_site

    app = make_app(RATELIMIT_INTAKE="1 per minute", RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        _site, key = create_site(db.session, "No Redis")
    auth = {"Authorization": f"Bearer {key}"}
    assert [post(app.test_client(), auth, valid_comment(content=f"n{n}")).status_code for n in range(2)] == [202, 202]


def test_claims_left_in_flight_by_an_earlier_version_are_purged_once_abandoned(client, auth, app, monkeypatch):
    import datetime as dt

    from moderation.core import idempotency
    from moderation.core.idempotency import fingerprint
    from moderation.core.models import Site

    now = dt.datetime.now(dt.timezone.utc)
    bodies = {"abandoned": valid_comment(content="Parti"), "recent": valid_comment(content="Récent")}
    with app.app_context():
        site = db.session.scalar(sa.select(Site))
        for key, age in (("abandoned", dt.timedelta(minutes=30)), ("recent", dt.timedelta(minutes=2))):
            db.session.add(IdempotencyKey(site_id=site.id, key=key, fingerprint=fingerprint(bodies[key]),
                                          created_at=now - age))  # no response: a claim of an older version
        db.session.commit()
    monkeypatch.setattr(idempotency, "_next_purge", 0.0)  # the first look-up after a restart purges
    assert post(client, auth, bodies["abandoned"], **{"Idempotency-Key": "abandoned"}).status_code == 202
    # A younger claim may still be completed by a server of the older version: it is kept, and 409.
    assert post(client, auth, bodies["recent"], **{"Idempotency-Key": "recent"}).status_code == 409


def test_expired_keys_are_purged_by_a_later_claim(client, auth, app, monkeypatch):
    import datetime as dt

    from moderation.core import idempotency

    for n in range(3):
        post(client, auth, valid_comment(content=f"vieux {n}"), **{"Idempotency-Key": f"old-{n}"})
    with app.app_context():
        db.session.execute(sa.update(IdempotencyKey).values(
            created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=25)))
        db.session.commit()
    monkeypatch.setattr(idempotency, "_next_purge", 0.0)  # as if the last purge was over an hour ago
    post(client, auth, valid_comment(content="neuf"), **{"Idempotency-Key": "new"})
    with app.app_context():
        assert db.session.scalars(sa.select(IdempotencyKey.key)).all() == ["new"]
    post(client, auth, valid_comment(content="neuf 2"), **{"Idempotency-Key": "new-2"})
    with app.app_context():  # live keys are kept
        assert sorted(db.session.scalars(sa.select(IdempotencyKey.key)).all()) == ["new", "new-2"]
