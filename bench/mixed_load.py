"""Intake and moderators at once on one served service: errors, lost or doubled comments, moderators' latency.

Run from the repository root:
    .venv/bin/python bench/mixed_load.py [--seconds 15] [--database sqlite] [--writer thread process]

For each intake writer setting (MODERATION_INTAKE_WRITER), a fresh service gets, for a bounded time:
- `--intake` clients posting comments as fast as they can; every other one carries an
  Idempotency-Key, and one in five of those is sent twice (a site retrying after a lost answer);
- `--moderators` clients reading the pending queue and approving what they see, with the version
  they read, on the moderator JSON API (two moderators may pick the same comment: 409 is expected).
It then counts the comments in the database against the 202s the clients got, and prints the
answers by kind, intake's throughput and the moderators' decision latency. Any 5xx, any comment
missing or stored twice, fails the run (exit status 1).
"""
from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import intake  # noqa: E402
from loadgen import _body  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Tally:
    """Answers by kind and the moderators' latencies, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kinds: collections.Counter = collections.Counter()
        self.decide_seconds: list[float] = []
        self.accepted_ids: set[int] = set()
        self.failures: list[str] = []

    def note(self, kind: str, body: bytes = b"", seconds: float | None = None, comment_id: int | None = None) -> None:
        with self.lock:
            self.kinds[kind] += 1
            if kind.endswith(("500", "502", "503", "504")):
                self.failures.append(f"{kind}: {body[:200]!r}")
            if seconds is not None:
                self.decide_seconds.append(seconds)
            if comment_id is not None:
                self.accepted_ids.add(comment_id)


def _moderator_token(env: dict) -> str:
    cli = [sys.executable, "-m", "moderation.cli"]
    subprocess.run(cli + ["moderators", "create", "bench-moderator@example.org", "--role", "moderator",
                          "--password-stdin"], input="a long bench password\n", env=env, cwd=ROOT,
                   capture_output=True, text=True, check=True)
    token = subprocess.run(cli + ["moderators", "token", "bench-moderator@example.org"], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    return token.strip().split()[-1]


def _intake_client(port: int, key: str, worker: int, stop_at: float, tally: Tally) -> None:
    connection, n = HTTPConnection("127.0.0.1", port, timeout=60), 0
    while time.monotonic() < stop_at:
        n += 1
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        sends = 1
        if n % 2:
            headers["Idempotency-Key"] = str(uuid.uuid4())
            sends = 2 if n % 5 == 1 else 1
        body = _body(1000, worker, n)
        for _ in range(sends):
            connection.request("POST", "/api/v1/comments", body, headers)
            response = connection.getresponse()
            answer = response.read()
            replayed = response.getheader("Idempotent-Replayed") == "true"
            comment_id = json.loads(answer)["id"] if response.status == 202 else None
            tally.note(f"intake {response.status}{' replayed' if replayed else ''}", answer, comment_id=comment_id)


def _moderator_client(port: int, token: str, worker: int, stop_at: float, tally: Tally) -> None:
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.monotonic() < stop_at:
        connection.request("GET", "/api/v1/queues/pending?limit=20", headers=headers)
        response = connection.getresponse()
        page = response.read()
        tally.note(f"queue {response.status}", page)
        if response.status != 200:
            continue
        for comment in json.loads(page)["comments"][worker % 2::2]:
            began = time.perf_counter()
            connection.request("POST", f"/api/v1/comments/{comment['id']}/decision",
                               json.dumps({"action": "approve", "version": comment["version"]}), headers)
            response = connection.getresponse()
            answer = response.read()
            tally.note(f"decision {response.status}", answer, seconds=time.perf_counter() - began)


def _stored_comments(env: dict) -> tuple[int, int]:
    """(comments, distinct duplicate keys) in the service's database, read with the app's own engine."""
    code = ("from moderation import create_app; from moderation.extensions import db; import sqlalchemy as sa\n"
            "app = create_app({'LOAD_MODEL': False})\n"
            "with app.app_context():\n"
            "    print(db.session.scalar(sa.text('SELECT count(*) FROM comments')),"
            " db.session.scalar(sa.text('SELECT count(*) FROM (SELECT DISTINCT author_email, content FROM comments) d')))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    total, distinct = out.stdout.split()
    return int(total), int(distinct)


def run_one(database: str, writer: str, seconds: float, intake_clients: int, moderators: int) -> bool:
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        service, port, key, env = intake.start_service(database, False, Path(tmp),
                                                       settings={"MODERATION_INTAKE_WRITER": writer})
        try:
            token = _moderator_token(env)
            stop_at = time.monotonic() + seconds
            threads = [threading.Thread(target=_intake_client, args=(port, key, i, stop_at, tally))
                       for i in range(intake_clients)]
            threads += [threading.Thread(target=_moderator_client, args=(port, token, i, stop_at, tally))
                        for i in range(moderators)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            intake.stop(service)
        stored, distinct = _stored_comments(env)
    latencies = sorted(tally.decide_seconds)
    new = tally.kinds["intake 202"]
    print(f"{database} writer={writer}: {seconds:.0f} s, {intake_clients} intake clients, {moderators} moderators")
    for kind, count in sorted(tally.kinds.items()):
        print(f"  {count:7d}  {kind}")
    print(f"  intake: {new / seconds:.0f} new comments/s; stored {stored} comments"
          f" ({distinct} distinct), {len(tally.accepted_ids)} ids answered 202")
    if latencies:
        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
        print(f"  decisions: p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    problems = list(tally.failures)
    if stored != distinct:
        problems.append(f"{stored - distinct} comments stored twice")
    if stored != len(tally.accepted_ids):
        problems.append(f"{len(tally.accepted_ids)} comments answered 202 but {stored} stored")
    for problem in problems[:10]:
        print(f"  PROBLEM {problem}")
    return not problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--writer", nargs="+", default=["thread", "process"], choices=["thread", "process", "auto"])
    parser.add_argument("--intake", type=int, default=8, help="intake clients")
    parser.add_argument("--moderators", type=int, default=2)
    args = parser.parse_args()
    ok = [run_one(args.database, writer, args.seconds, args.intake, args.moderators) for writer in args.writer]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
