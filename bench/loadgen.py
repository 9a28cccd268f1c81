"""A closed-loop HTTP load generator (threads with keep-alive connections), bounded in time."""
from __future__ import annotations

import http.client
import itertools
import json
import threading
import time


_RUN = itertools.count()


def _body(run: int, worker: int, n: int) -> bytes:
    # Unique author, address and text per request (and per run against the same service):
    # duplicates and floods are refused by design.
    return json.dumps({
        "article_id": f"article-{n % 2000}",
        "author_name": "Lecteur Bench",
        "author_email": f"bench{run}r{worker}x{n}@example.org",
        "content": f"Commentaire {run}-{worker}-{n} : très bon article sur le budget, merci à la rédaction. "
                   "Wakha hadchi mzyan, bravo l'équipe ! مقال رائع",
        "author_ip": f"2001:db8:{run:x}:{worker:x}::{n:x}",
    }).encode()


def run(port: int, concurrency: int, seconds: float, headers: dict, path: str = "/api/v1/comments",
        warmup: float = 1.0) -> dict:
    """POST as fast as `concurrency` clients can for `seconds`; return throughput and latency figures."""
    run_id = next(_RUN)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    statuses: dict = {}
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    def client(worker: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while True:
            now = time.monotonic()
            if now >= stop_at:
                break
            n += 1
            body = _body(run_id, worker, n)
            began = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers={**headers, "Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                ok = False
                status = type(error).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - began
            if now >= start_at:
                latencies[worker].append(elapsed)
                if not ok:
                    errors[worker] += 1
                    statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = sorted(x for per in latencies for x in per)
    count = len(merged)

    def pct(p: float) -> float:
        return merged[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    return {"requests": count, "rps": count / seconds, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "errors": sum(errors), "error_kinds": statuses}
