"""Intake throughput and latency of the service against a bare Flask ceiling, in the same run.

Run from the repository root:  .venv/bin/python bench/intake.py [--seconds 8] [--databases sqlite postgres]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "moderation_bench"
# The service runs with its own default thread count (moderation/config.py). The ceiling is run
# with 8 and with 32 threads and each row is judged against the faster of the two, so a thread
# count that suits the service cannot flatter the ratio.
CEILING_THREADS = (8, 32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, path: str = "/healthz", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            return
        except urllib.error.HTTPError:  # any HTTP answer means the server is up
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


class Service(NamedTuple):
    process: subprocess.Popen
    port: int
    key: str  # the bench site's API key
    env: dict  # the service's environment, for running its CLI on the same database


def start_service(database: str, scoring: bool, workdir: Path, root: Path | None = None,
                  settings: dict | None = None) -> Service:
    """The service of the checkout at `root` (default: this one), with extra environment `settings`,
    served on a free port.

    `python -m` puts its working directory first on sys.path, before PYTHONPATH: the service runs
    in `root` so that it imports that checkout's package and no other."""
    root = Path(root or Path(__file__).resolve().parent.parent)
    env = {**os.environ, "MODERATION_INSTANCE_DIR": str(workdir), "MODERATION_RATELIMIT_INTAKE": "1000000 per minute",
           "MODERATION_SECRET_KEY": "bench-secret"}
    env.pop("MODERATION_THREADS", None)  # the caller's shell does not choose; `settings` may
    env.update(settings or {})
    env["MODERATION_DATABASE_URL"] = fresh_postgres() if database == "postgres" else f"sqlite:///{workdir / 'bench.sqlite3'}"
    if not scoring:
        empty = workdir / "no-models"
        empty.mkdir(exist_ok=True)
        env["MODERATION_MODELS_DIR"] = str(empty)
    moderation = [sys.executable, "-m", "moderation.cli"]
    key = subprocess.run(moderation + ["sites", "create", "bench"], env=env, capture_output=True, text=True,
                         check=True, cwd=root).stdout.strip()
    port = free_port()
    env["MODERATION_PORT"] = str(port)
    # The log goes to a file: an unread pipe fills up (waitress warns of its queue depth at c=32)
    # and then blocks the server's main thread, which looked like 30 s stalls.
    log = open(workdir / "serve.log", "w")
    process = subprocess.Popen(moderation + ["serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    wait_ready(port)
    _wait_for_scoring_workers(port)
    return Service(process, port, key, env)


def _wait_for_scoring_workers(port: int, timeout: float = 120) -> None:
    """Loading the model in the scoring processes takes a few seconds of both cores: measuring the
    ceiling meanwhile would understate it (seen: 1,131 instead of ~2,400 req/s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            if json.load(response)["checks"].get("scoring") != "in process (workers loading)":
                return
        time.sleep(0.2)


def start_ceiling(threads: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).parent / "ceiling_app.py"), str(port), str(threads)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, "/api/v1/comments")  # a 405 on GET still means it is up
    return process, port


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--scoring", choices=["off", "on", "both"], default="both")
    args = parser.parse_args()
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.scoring]

    ceilings = {threads: start_ceiling(threads) for threads in CEILING_THREADS}
    rows = []
    try:
        for database in args.databases:
            for scoring in modes:
                with tempfile.TemporaryDirectory() as tmp:
                    service, port, key, _env = start_service(database, scoring, Path(tmp))
                    try:
                        for concurrency in args.concurrency:
                            # Ceilings and service measured back to back, so all see the same machine.
                            bases = {threads: run(ceiling_port, concurrency, args.seconds, {})
                                     for threads, (_process, ceiling_port) in ceilings.items()}
                            ours = run(port, concurrency, args.seconds, {"Authorization": f"Bearer {key}"})
                            threads, base = max(bases.items(), key=lambda item: item[1]["rps"])
                            rows.append({"database": database, "scoring": scoring, "concurrency": concurrency,
                                         "ceiling": base, "ceiling_threads": threads,
                                         "ceilings_rps": {t: b["rps"] for t, b in bases.items()},
                                         "service": ours, "ratio": ours["rps"] / base["rps"]})
                            print_row(rows[-1])
                    finally:
                        stop(service)
    finally:
        for process, _port in ceilings.values():
            stop(process)
    print(json.dumps(rows, indent=1), file=open(Path(tempfile.gettempdir()) / "bench-intake.json", "w"))


def print_row(row: dict) -> None:
    base, ours = row["ceiling"], row["service"]
    print(f"{row['database']:8} scoring={'on ' if row['scoring'] else 'off'} c={row['concurrency']:<3}"
          f" ceiling ({row['ceiling_threads']} threads) {base['rps']:7.0f} req/s p50 {base['p50_ms']:6.1f} ms p99 {base['p99_ms']:6.1f} ms |"
          f" service {ours['rps']:7.0f} req/s p50 {ours['p50_ms']:6.1f} ms p99 {ours['p99_ms']:6.1f} ms"
          f" errors {ours['errors']} {ours['error_kinds'] or ''} | ratio {row['ratio']:.2f}", flush=True)


if __name__ == "__main__":
    main()
