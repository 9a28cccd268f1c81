"""CPU per intake inside the process: app.wsgi_app with a raw WSGI environ (no HTTP, no server threads).

Run from the repository root:  .venv/bin/python bench/intake_inprocess.py [--requests 3000] [--threads 1] [--scoring]
Prints milliseconds of wall and CPU time per accepted comment, and the same for a bare Flask view
that only parses the body (the in-process ceiling), measured in the same run.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import _body  # noqa: E402


def environ(body: bytes, key: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/comments", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": f"Bearer {key}", "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0)}


def measure(app, key: str, requests: int, threads: int, expect: str) -> tuple[float, float]:
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def one(n: int) -> None:
        out = app(environ(_body(7, 0, n), key), start_response)
        b"".join(out)
        getattr(out, "close", lambda: None)()

    for n in range(300):  # warm-up: caches, prepared statements, the scorer's probation
        one(n)
    numbers = iter(range(300, 300 + requests))

    def worker() -> None:
        for n in numbers:
            one(n)

    wall, cpu = time.perf_counter(), time.process_time()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert all(status.startswith(expect) for status in statuses), statuses[-3:]
    return wall / requests * 1000, cpu / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scoring", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ.update(MODERATION_INSTANCE_DIR=tmp, MODERATION_DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
                      MODERATION_RATELIMIT_INTAKE="1000000 per minute", MODERATION_SECRET_KEY="bench")
    if not args.scoring:
        os.makedirs(f"{tmp}/no-models", exist_ok=True)
        os.environ["MODERATION_MODELS_DIR"] = f"{tmp}/no-models"
    logging.disable(logging.WARNING)
    from flask_migrate import upgrade

    import ceiling_app
    from moderation import create_app
    from moderation.core.sites import create_site
    from moderation.extensions import db

    app = create_app()
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        _site, key = create_site(db.session, "bench")
        db.session.commit()
    base = measure(ceiling_app.app.wsgi_app, key, args.requests, args.threads, "201")
    ours = measure(app.wsgi_app, key, args.requests, args.threads, "202")
    print(f"threads={args.threads} scoring={'on' if args.scoring else 'off'}  ceiling wall {base[0]:.3f} ms"
          f" cpu {base[1]:.3f} ms | service wall {ours[0]:.3f} ms cpu {ours[1]:.3f} ms | ratio {base[1] / ours[1]:.2f}")


if __name__ == "__main__":
    main()
