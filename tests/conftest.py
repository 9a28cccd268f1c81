"""A fresh app and database per test: SQLite in a temporary folder, or PostgreSQL when
MODERATION_TEST_DATABASE_URL is set (tables truncated between tests)."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import threading

import pytest
import sqlalchemy as sa

from moderation import create_app
from moderation.core.sites import create_site
from moderation.extensions import db

PG_URL = os.environ.get("MODERATION_TEST_DATABASE_URL")
# A fixed clock for core tests ("already approved by X at 10:42").
NOW = dt.datetime(2026, 11, 29, 10, 42, tzinfo=dt.timezone.utc)


def _truncate_all(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def pg_schema_ready():
    """On PostgreSQL, build the schema once per run from the models."""
    if not PG_URL:
        return None
    # Building an app imports every model module (webhooks, learning...) into the metadata.
    create_app({"TESTING": True, "DATABASE_URL": PG_URL, "SECRET_KEY": "x", "LOAD_MODEL": False})
    rebuild_pg_schema()
    return PG_URL


def rebuild_pg_schema(build: bool = True) -> None:
    """Empty the shared PostgreSQL test database and, with `build`, make the models' schema in it
    (a test that migrates or serves it gives the others back what they expect)."""
    engine = sa.create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    if build:
        db.metadata.create_all(engine)
    engine.dispose()


@pytest.fixture
def make_app(tmp_path, pg_schema_ready):
    """Build an app with extra config; every app of one test shares that test's fresh database."""
    created = []
    truncated = []
    database_url = pg_schema_ready or f"sqlite:///{tmp_path / 'test.sqlite3'}"

    def factory(**overrides):
        config = {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret",
            "FLOOD_INTERVAL_SECONDS": 0,
            "LOAD_MODEL": False,
            **overrides,
        }
        app = create_app(config)
        if "DATABASE_URL" in overrides:  # a test pointing elsewhere (an unreachable server) owns it
            created.append(app)
            return app
        with app.app_context():
            if pg_schema_ready:
                if not truncated:
                    _truncate_all(db.engine)
                    truncated.append(True)
            else:
                db.create_all()
        created.append(app)
        return app

    yield factory
    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def site_key(app):
    with app.app_context():
        _site, key = create_site(db.session, "Le Site")
    return key


@pytest.fixture
def auth(site_key):
    return {"Authorization": f"Bearer {site_key}"}


@pytest.fixture
def writer_app(make_app):
    """Apps with a started group-commit writer (a thread; with process=True a child process), stopped after the test."""
    writers = []

    def build(process: bool = False, **overrides):
        from moderation.intake_writer import start_intake_writer

        app = make_app(**overrides)
        writers.append(start_intake_writer(app, process=process))
        return app

    yield build
    for writer in writers:
        writer.stop()


# (content, author name, author URL): hand-written, one per language, not evaluation data.
HANDWRITTEN_COMMENTS = [
    ("Très bon article, merci à la rédaction pour ce travail sérieux.", "Amina", ""),
    ("Achetez pas cher !!! www.promo-casa.ma livraison gratuite", "Promo", "http://promo-casa.ma"),
    ("هذا المقال رائع، شكرا جزيلا", "Karim", ""),
    ("wakha hadchi mzyan bzaf, 3ajbni l'article", "Youssef", ""),
    ("You are an idiot and should shut up", "Troll", ""),
]


def site_auth(app, name: str = "Intake"):
    """A new site and the Authorization header of its API key."""
    with app.app_context():
        site, key = create_site(db.session, name)
    return site, {"Authorization": f"Bearer {key}"}


def count_rows(app, model) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.rollback()
        return count


def post_together(app, auth: dict, bodies: list[dict]) -> list:
    """Post every body from its own thread at the same moment, so several land in one batch."""
    results = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(index):
        client = app.test_client()
        barrier.wait()
        results[index] = client.post("/api/v1/comments", json=bodies[index], headers=auth)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def valid_comment(**changes) -> dict:
    comment = {
        "article_id": "2026-11-29-budget",
        "author_name": "Amina",
        "author_email": "amina@example.org",
        "content": "Très bon article, merci.",
    }
    comment.update(changes)
    return {k: v for k, v in comment.items() if v is not ...}


class FakeScore:
    def __init__(self, spam: float, abuse: float, language: str = "fr"):
        self.spam, self.abuse, self.language = spam, abuse, language
        self.explanation = {"spam": [], "abuse": []}


class FakeScorer:
    """A stand-in for the classifier: fixed scores, or scores chosen from words in the text."""

    version = "fake-1"
    thresholds = {"spam": {"flag": 0.5, "auto_spam": 0.99, "auto_approve": 0.1},
                  "abuse": {"flag": 0.5, "auto_spam": 0.99, "auto_approve": 0.1}}

    def __init__(self, spam: float = 0.01, abuse: float = 0.01):
        self.spam, self.abuse = spam, abuse

    def score(self, content: str, author_name: str = "", author_url: str = "") -> FakeScore:
        lowered = content.lower()
        spam = 0.995 if "casino" in lowered else self.spam
        abuse = 0.9 if "idiot" in lowered else self.abuse
        return FakeScore(spam, abuse)


@pytest.fixture
def fake_scorer(app):
    scorer = FakeScorer()
    app.extensions["moderation.models"].swap(scorer)
    return scorer


@pytest.fixture(autouse=True)
def forget_process_caches():
    """Sites and rules are cached per process for a few seconds; each test starts afresh."""
    from moderation.core.rules import forget_cached_rules
    from moderation.core.sites import forget_cached_sites

    forget_cached_sites()
    forget_cached_rules()
    yield
    forget_cached_sites()
    forget_cached_rules()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Production argon2id costs 64 MiB and ~0.1 s a hash; tests only need it correct, not slow."""
    from argon2 import PasswordHasher

    from moderation.core import moderators

    monkeypatch.setattr(moderators, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def session(app):
    """The app's database session, inside an app context (core tests work on models directly)."""
    with app.app_context():
        yield db.session


@pytest.fixture
def site(session):
    return create_site(session, "Le Site")[0]


def comment_factory(session, site, **defaults):
    """A function that commits a comment of `site` with unique author and content; fields override."""
    counter = itertools.count(1)

    def add(**fields):
        from moderation.core.models import Comment

        n = next(counter)
        values = dict(site_id=site.id, article_id="a1", author_name="Amina", author_email=f"amina{n}@example.org",
                      content=f"commentaire {n}", content_hash=f"h{n}", created_at=NOW, updated_at=NOW, **defaults)
        values.update(fields)
        comment = Comment(**values)
        session.add(comment)
        session.commit()
        return comment

    return add


@pytest.fixture
def add_comment(session, site):
    return comment_factory(session, site)
