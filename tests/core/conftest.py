"""Core tests work on the models directly, inside an app context with a fresh database."""
from __future__ import annotations

import datetime as dt

import pytest

from moderation.core.moderators import create_moderator
from moderation.core.models import Comment, Site
from moderation.core.sites import create_site
from moderation.extensions import db

NOW = dt.datetime(2026, 11, 29, 10, 42, tzinfo=dt.timezone.utc)


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def site(session) -> Site:
    return create_site(session, "Le Site")[0]


@pytest.fixture
def moderator(session):
    return create_moderator(session, "nadia@journal.ma", "correct horse battery", role="moderator", name="Nadia")


@pytest.fixture
def colleague(session):
    return create_moderator(session, "karim@journal.ma", "correct horse battery", role="moderator", name="Karim")


@pytest.fixture
def add_comment(session, site):
    counter = iter(range(1, 10_000))

    def add(**fields) -> Comment:
        n = next(counter)
        values = dict(site_id=site.id, article_id="a1", author_name="Amina", author_email=f"amina{n}@example.org",
                      content=f"commentaire {n}", content_hash=f"h{n}", created_at=NOW, updated_at=NOW)
        values.update(fields)
        comment = Comment(**values)
        session.add(comment)
        session.commit()
        return comment

    return add
