"""Webhook delivery throughput with one worker, and latency from an event's commit to its delivery.

Run from the repository root:  .venv/bin/python bench/webhooks.py [--databases sqlite postgres] [--events 3000]

The receiver is a separate process on loopback answering 200 at once; the worker is the in-process one
that `moderation serve` runs (threads, woken by commits). Phase 1 queues --events events, then starts
the worker and times until the receiver has them all. Phase 2 commits events one at a time, at --rate
per second, and measures commit -> arrival at the receiver.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "moderation_bench_webhooks"

RECEIVER = r"""
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = open(sys.argv[2], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out.write(f"{self.headers['webhook-id']}\t{time.time()}\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
server.daemon_threads = True
print("ready", flush=True)
server.serve_forever()
"""


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


def arrivals(path: Path) -> dict[str, float]:
    seen: dict[str, float] = {}
    for line in path.read_text().splitlines():
        msg_id, _, at = line.partition("\t")
        seen.setdefault(msg_id, float(at))
    return seen


def wait_for(path: Path, ids: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        seen = arrivals(path)
        if ids <= set(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def run(database: str, events: int, rate: float, seconds: float, concurrency: int, workdir: Path) -> dict:
    import socket

    from moderation import create_app
    from moderation.core import outbox
    from moderation.core.db import transaction
    from moderation.core.models import Comment
    from moderation.core.sites import create_site
    from moderation.extensions import db
    from moderation.webhooks import endpoints
    from moderation.webhooks.worker import Worker

    url = fresh_postgres() if database == "postgres" else f"sqlite:///{workdir / 'bench.sqlite3'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = workdir / f"received-{database}.tsv"
    log.write_text("")
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port), str(log)], stdout=subprocess.PIPE, text=True)
    receiver.stdout.readline()
    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(workdir), "SECRET_KEY": "bench", "LOAD_MODEL": False,
                      "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "WEBHOOK_CONCURRENCY": concurrency})
    try:
        with app.app_context():
            db.create_all()
            session = db.session
            site, _key = create_site(session, "bench")
            endpoints.add_endpoint(session, site.id, f"http://127.0.0.1:{port}/hook", now=dt.datetime.now(dt.timezone.utc))
            now = dt.datetime.now(dt.timezone.utc)
            with transaction(session):
                comment = Comment(site_id=site.id, article_id="a", author_name="B", author_email="b@example.org",
                                  content="x", content_hash="x", created_at=now, updated_at=now)
                session.add(comment)

            def commit_event() -> str:
                with transaction(session):
                    recorded = outbox.record(session, "comment.approved", comment, dt.datetime.now(dt.timezone.utc))
                return recorded if isinstance(recorded, str) else recorded.id

            # Phase 1: a backlog, then one worker drains it.
            backlog = set()
            for start in range(0, events, 500):
                with transaction(session):
                    for _ in range(min(500, events - start)):
                        recorded = outbox.record(session, "comment.approved", comment, dt.datetime.now(dt.timezone.utc))
                        backlog.add(recorded if isinstance(recorded, str) else recorded.id)
            worker = Worker(app, app.extensions["moderation.webhooks.settings"]).start()
            started = time.monotonic()
            seen = wait_for(log, backlog, timeout=300)
            drained = time.monotonic() - started
            delivered = len(backlog & set(seen))

            # Phase 2: steady trickle, commit -> arrival.
            committed: dict[str, float] = {}
            interval = 1 / rate
            next_at = time.monotonic()
            end = next_at + seconds
            while time.monotonic() < end:
                msg_id = commit_event()
                committed[msg_id] = time.time()
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))
            seen = wait_for(log, set(committed), timeout=60)
            worker.stop()
        latencies = sorted((seen[i] - committed[i]) * 1000 for i in committed if i in seen)
        q = statistics.quantiles(latencies, n=100)
        return {
            "database": database, "concurrency": concurrency, "backlog_events": events, "delivered": delivered,
            "drain_seconds": round(drained, 2), "deliveries_per_second": round(delivered / drained, 1),
            "latency_events": len(committed), "latency_received": len(latencies),
            "latency_ms_p50": round(q[49], 1), "latency_ms_p99": round(q[98], 1), "latency_ms_max": round(latencies[-1], 1),
        }
    finally:
        receiver.terminate()
        receiver.wait()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite"], choices=["sqlite", "postgres"])
    parser.add_argument("--events", type=int, default=3000, help="backlog drained in phase 1")
    parser.add_argument("--rate", type=float, default=20, help="events per second committed in phase 2")
    parser.add_argument("--seconds", type=float, default=10, help="length of phase 2")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 1], help="worker threads (one worker)")
    args = parser.parse_args()
    os.environ.pop("MODERATION_WEBHOOK_WORKER", None)
    for database in args.databases:
        for concurrency in args.concurrency:
            with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
                result = run(database, args.events, args.rate, args.seconds, concurrency, Path(tmp))
            print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()
