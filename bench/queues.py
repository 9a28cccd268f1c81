"""Moderation queues at scale: 1,000,000 comments over 2,000 articles, 30 % pending.

Measures (p50/p99 ms): the first page of the pending queue with its counts, a search by author
e-mail, a page deep in the queue (keyset), and a bulk approval of 500 comments; beside a
primary-key lookup measured in the same run as the machine's baseline.

Run from the repository root:  .venv/bin/python bench/queues.py [--rows 1000000] [--databases sqlite postgres]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "moderation_bench_queues"


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'queues.sqlite3'}"
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_DB}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"


def fill(session, rows: int, seed: int = 7) -> list[str]:
    """Insert `rows` comments with plain executemany batches; return some author e-mails."""
    from moderation.core.models import Comment
    from moderation.core.status import CommentStatus

    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    statuses = [CommentStatus.PENDING] * 30 + [CommentStatus.APPROVED] * 55 + [CommentStatus.REJECTED] * 10 + \
        [CommentStatus.SPAM] * 5
    authors = [f"reader{n}@example.org" for n in range(200_000)]
    insert = Comment.__table__.insert()
    batch, done = [], 0
    for n in range(rows):
        spam, abuse = rng.random() ** 3, rng.random() ** 3
        created = start + dt.timedelta(seconds=n * 25)
        status = rng.choice(statuses)
        batch.append(dict(
            site_id=1, article_id=f"article-{rng.randrange(2000)}", author_name=f"Lecteur {n % 5000}",
            author_email=authors[rng.randrange(len(authors))], author_ip=f"10.{n % 200}.{n % 250}.{n % 199}",
            content=f"Commentaire numéro {n} sur l'article, avec un peu de texte pour faire réaliste.",
            content_hash=f"{n:064x}", status=status, version=1, spam_score=spam, abuse_score=abuse,
            risk=max(spam, abuse), detected_language="fr", reasons=[], created_at=created, updated_at=created,
            published_at=created if status is CommentStatus.APPROVED else None,
        ))
        if len(batch) == 20_000:
            session.connection().execute(insert, batch)
            session.commit()
            done += len(batch)
            batch = []
            print(f"\r  inserted {done:,} / {rows:,}", end="", file=sys.stderr, flush=True)
    if batch:
        session.connection().execute(insert, batch)
        session.commit()
    print(file=sys.stderr)
    return rng.sample(authors, 200)


def timed(function, repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[min(len(samples) - 1, int(0.99 * len(samples)))]}


def run(kind: str, rows: int, repeat: int) -> None:
    from moderation import create_app
    from moderation.core import queues
    from moderation.core.models import Comment
    from moderation.core.moderators import create_moderator
    from moderation.core.review import DecisionRequest, decide_many
    from moderation.core.sites import create_site
    from moderation.core.status import CommentStatus
    from moderation.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": database_url(kind, Path(tmp)), "INSTANCE_DIR": tmp, "SECRET_KEY": "bench",
                          "LOAD_MODEL": False})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=app.extensions["migrate"].directory, revision="heads")
            session = db.session
            create_site(session, "bench")
            moderator = create_moderator(session, "bench@journal.ma", "a long bench password", role="moderator")
            began = time.perf_counter()
            emails = fill(session, rows)
            print(f"{kind}: filled {rows:,} comments in {time.perf_counter() - began:.0f} s", flush=True)
            # Planner statistics, as PostgreSQL's autovacuum and `moderation serve` (PRAGMA optimize) keep them.
            session.execute(sa.text("ANALYZE"))
            session.commit()

            rng = random.Random(1)
            some_ids = [rng.randrange(1, rows) for _ in range(repeat)]
            ids = iter(some_ids * 2)
            baseline = timed(lambda: session.get(Comment, next(ids)) and session.expunge_all(), repeat)
            first = timed(lambda: queues.list_queue(session, "pending", limit=25), repeat)
            mails = iter(emails * (repeat // len(emails) + 1))
            search = timed(lambda: queues.list_queue(session, "pending", queues.QueueFilter(email=next(mails)),
                                                     limit=25, with_counts=False), repeat)
            # A cursor half-way down the pending queue (150,000 comments deep at a million rows).
            deep_row = session.execute(
                sa.select(Comment.risk, Comment.id).where(Comment.status == CommentStatus.PENDING)
                .order_by(Comment.risk.desc(), Comment.id.desc()).offset(int(rows * 0.15)).limit(1)).one()
            cursor = queues._cursor(Comment(risk=deep_row.risk, id=deep_row.id))
            deep = timed(lambda: queues.list_queue(session, "pending", cursor=cursor, limit=25, with_counts=False),
                         repeat)
            pending_ids = list(session.scalars(sa.select(Comment.id).where(Comment.status == CommentStatus.PENDING)
                                               .order_by(Comment.id).limit(2500)))
            batches = iter([pending_ids[i:i + 500] for i in range(0, 2500, 500)])
            now = dt.datetime.now(dt.timezone.utc)
            bulk = timed(lambda: decide_many(session, next(batches), DecisionRequest("approve"),
                                             moderator=moderator, now=now), 5)
            db.session.remove()
            db.engine.dispose()

    print(f"{kind:8} baseline PK lookup   p50 {baseline['p50']:6.2f} ms  p99 {baseline['p99']:6.2f} ms")
    for name, figures in (("first page + counts", first), ("search by e-mail", search), ("deep page (keyset)", deep),
                          ("bulk approve 500", bulk)):
        print(f"{kind:8} {name:20} p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms"
              f"  ({figures['p99'] / baseline['p99']:.0f}x baseline p99)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    for kind in args.databases:
        run(kind, args.rows, args.repeat)


if __name__ == "__main__":
    main()
