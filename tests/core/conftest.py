"""Core tests work on the models directly, inside an app context with a fresh database."""
from __future__ import annotations

import pytest

from moderation.core.moderators import create_moderator
from tests.conftest import NOW  # noqa: F401  (the shared clock, imported by the tests from here)


@pytest.fixture
def moderator(session):
    return create_moderator(session, "nadia@journal.ma", "correct horse battery", role="moderator", name="Nadia")


@pytest.fixture
def colleague(session):
    return create_moderator(session, "karim@journal.ma", "correct horse battery", role="moderator", name="Karim")
