"""Core tests work on the models directly, inside an app context with a fresh database."""
from __future__ import annotations

import pytest

from moderation.core.moderators import create_moderator
from moderation.core.models import Comment
from tests.conftest import NOW  # noqa: F401  (the shared clock, imported by the tests from here)


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
