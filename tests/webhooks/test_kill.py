"""No event lost: `moderation worker` is SIGKILLed at random moments while decisions keep coming."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from moderation.extensions import db
from moderation.webhooks.models import Delivery
from tests.webhooks.conftest import add_endpoint, make_comment
from tests.webhooks.receiver import Answer, verify

EVENTS_BEFORE, EVENTS_DURING, KILLS = 40, 20, 5


def _worker_env(app, tmp_path, concurrency: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    env.update({
        "MODERATION_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MODERATION_INSTANCE_DIR": str(tmp_path / "worker-instance"),
        "MODERATION_SECRET_KEY": "kill-test",
        "MODERATION_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "MODERATION_WEBHOOK_LEASE_SECONDS": "8",
        "MODERATION_WEBHOOK_POLL_SECONDS": "0.1",
        "MODERATION_WEBHOOK_TIMEOUT_SECONDS": "1",
        "MODERATION_WEBHOOK_SCHEDULE": "0,0.5,0.5,1,1,2,2,2,2,2,2,2",
        "MODERATION_WEBHOOK_CONCURRENCY": str(concurrency),
    })
    return env


def _statuses(app) -> dict:
    with app.app_context():
        return dict(db.session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 4])
def test_sigkilled_worker_loses_no_event_and_duplicates_at_most_one_per_kill_and_thread(
        hook_app, site, receiver, tmp_path, concurrency):
    started = time.monotonic()
    rng = random.Random()
    # A short pause per request keeps deliveries in flight, so kills land mid-attempt.
    receiver.answer = lambda _request: Answer(200, delay=0.03 * concurrency)
    _endpoint, secret = add_endpoint(hook_app, site, receiver.url())
    expected = {make_comment(hook_app, site, email=f"k{i}@example.org")[1] for i in range(EVENTS_BEFORE)}
    env = _worker_env(hook_app, tmp_path, concurrency)
    command = [sys.executable, "-m", "moderation.cli", "worker"]

    worker_log = (tmp_path / "worker.log").open("ab")

    def spawn():
        return subprocess.Popen(command, env=env, stdout=worker_log, stderr=worker_log)

    def produce():
        for i in range(EVENTS_DURING):
            expected.add(make_comment(hook_app, site, email=f"d{i}@example.org")[1])
            time.sleep(0.1)

    producer = threading.Thread(target=produce)
    worker = spawn()
    producer.start()
    try:
        for _kill in range(KILLS):
            seen = len(receiver.requests)
            # Kill only once this incarnation is delivering, at a random moment of its work.
            assert receiver.wait_for(seen + 1, timeout=15), "the restarted worker delivered nothing"
            time.sleep(rng.uniform(0, 0.4))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            worker = spawn()
        producer.join(30)
        deadline = time.monotonic() + 40
        # Done when the receiver has every event and the database agrees: a delivery in flight at the last
        # kill was received but is only marked delivered after its lease expires and it is sent again.
        while not (expected <= set(receiver.ids()) and _statuses(hook_app) == {"delivered": len(expected)}):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker_log.close()
    ids = receiver.ids()
    lost = expected - set(ids)
    duplicates = len(ids) - len(set(ids))
    print(f"\nkill test (concurrency {concurrency}): events={len(expected)} kills={KILLS} "
          f"received={len(ids)} duplicates={duplicates} lost={len(lost)} seconds={time.monotonic() - started:.1f}")
    assert len(expected) == EVENTS_BEFORE + EVENTS_DURING
    log_tail = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert lost == set(), log_tail
    assert duplicates <= KILLS * concurrency, log_tail
    for request in receiver.requests:
        verify(request, secret)
    assert _statuses(hook_app) == {"delivered": len(expected)}
    assert time.monotonic() - started < 90
