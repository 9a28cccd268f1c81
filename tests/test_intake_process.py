"""Group commit in a child process: each request answered as if alone, and a lost child costs a retry, never a comment."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import threading
import time

import pytest

from moderation.core import submissions
from moderation.core.models import Comment, Decision, OutboxEvent
from moderation.extensions import db
from moderation.intake_process import ProcessWriter
from moderation.intake_writer import current_writer, start_intake_writer
from tests.conftest import count_rows, post_together, site_auth, valid_comment


@pytest.fixture
def process_app(writer_app):
    def build(**overrides):
        app = writer_app(process=True, **overrides)
        assert isinstance(current_writer(app), ProcessWriter), "the writer process did not start"
        return app

    return build


@pytest.fixture
def only_the_child_writes(monkeypatch):
    """Writing in this process fails the test: whatever is stored was stored by the child."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("written in the server's process, not by the writer process")

    monkeypatch.setattr(submissions, "write_batch", refuse)


def _wait(condition, seconds: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_concurrent_comments_are_written_by_the_child_each_with_its_own_answer(process_app, only_the_child_writes):
    app = process_app()
    _site, auth = site_auth(app)
    distinct = [valid_comment(author_email=f"r{n}@example.org", author_ip=f"203.0.113.{n}",
                              content=f"Avis {n} : <b>مقال</b> wakha") for n in range(12)]
    twin = valid_comment(author_email="twin@example.org", author_ip="198.51.100.1", content="Deux fois")
    responses = post_together(app, auth, distinct + [twin, twin])
    codes = [r.status_code for r in responses]
    assert codes[:12] == [202] * 12
    assert sorted(codes[12:]) == [202, 409]
    duplicate = next(r for r in responses if r.status_code == 409)
    assert duplicate.mimetype == "application/problem+json"
    ids = {r.get_json()["id"] for r in responses if r.status_code == 202}
    assert len(ids) == 13 == count_rows(app, Comment) == count_rows(app, Decision) == count_rows(app, OutboxEvent)
    for index in (0, 7):
        answer = responses[index]
        assert answer.headers["Location"].endswith(f"/comments/{answer.get_json()['id']}")
        with app.app_context():
            stored = db.session.get(Comment, answer.get_json()["id"])
            assert (stored.content, stored.author_email, stored.status.value) == (
                f"Avis {index} : <b>مقال</b> wakha", f"r{index}@example.org", answer.get_json()["status"])


def test_keyed_comments_are_stored_with_their_keys_by_the_child_and_retries_replay(process_app, only_the_child_writes):
    from moderation.core.models import IdempotencyKey

    app = process_app()
    _site, auth = site_auth(app)
    bodies = [valid_comment(author_email=f"k{n}@example.org", author_ip=f"203.0.113.{n}", content=f"Clé {n}")
              for n in range(4)]
    client = app.test_client()
    first = [client.post("/api/v1/comments", json=body, headers={**auth, "Idempotency-Key": f"key-{n}"})
             for n, body in enumerate(bodies)]
    assert [r.status_code for r in first] == [202] * 4
    assert count_rows(app, IdempotencyKey) == 4  # stored by the child, with the comments
    again = client.post("/api/v1/comments", json=bodies[2], headers={**auth, "Idempotency-Key": "key-2"})
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first[2].get_json()
    reused = client.post("/api/v1/comments", json=bodies[3], headers={**auth, "Idempotency-Key": "key-2"})
    assert reused.status_code == 422
    # Two tries of one new comment at once: both reach the child, often in one batch.
    twin = valid_comment(author_email="twin@example.org", author_ip="198.51.100.7", content="Deux essais")
    both = post_together(app, {**auth, "Idempotency-Key": "key-twin"}, [twin, twin])
    assert sorted(r.status_code for r in both)[0] == 202
    assert all(r.status_code in (202, 409) for r in both)
    assert count_rows(app, Comment) == 5 and count_rows(app, IdempotencyKey) == 5


def test_a_flood_is_refused_with_its_retry_after_across_the_pipe(process_app, only_the_child_writes):
    app = process_app(FLOOD_INTERVAL_SECONDS=15)
    _site, auth = site_auth(app)
    flooder = [valid_comment(author_email="vite@example.org", author_ip="198.51.100.2", content=f"Encore {n}")
               for n in range(4)]
    responses = post_together(app, auth, flooder)
    assert sorted(r.status_code for r in responses) == [202, 429, 429, 429]
    assert all(0 < int(r.headers["Retry-After"]) <= 15 for r in responses if r.status_code == 429)
    assert count_rows(app, Comment) == 1


def test_comments_are_counted_in_the_servers_metrics(process_app, only_the_child_writes):
    app = process_app()
    _site, auth = site_auth(app)
    client = app.test_client()

    def received() -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("moderation_comments_received_total{"))

    before = received()
    for n in range(3):
        assert client.post("/api/v1/comments", json=valid_comment(content=f"compté {n}"), headers=auth).status_code == 202
    assert received() - before == 3


def test_a_rule_added_in_the_server_applies_to_the_childs_next_comment(process_app, only_the_child_writes):
    from moderation.core import rules

    app = process_app()
    site, auth = site_auth(app)
    client = app.test_client()
    first = client.post("/api/v1/comments", json=valid_comment(author_email="troll@example.org"), headers=auth)
    assert first.status_code == 202  # the child has now read (and cached) the site's rules
    with app.app_context():
        rules.add_rule(db.session, kind="ban", value="troll@example.org", target="email", site_id=site.id,
                       by=None, now=dt.datetime.now(dt.timezone.utc))
    again = client.post("/api/v1/comments", json=valid_comment(author_email="troll@example.org", content="encore moi"),
                        headers=auth)
    assert again.status_code == 202
    with app.app_context():
        stored = db.session.get(Comment, again.get_json()["id"])
        assert "banned" in [reason["code"] for reason in stored.reasons]


def test_a_commit_in_the_child_wakes_the_servers_webhook_worker(make_app, only_the_child_writes):
    from moderation.webhooks.endpoints import add_endpoint
    from moderation.webhooks.worker import Worker
    from tests.webhooks.receiver import Receiver

    app = make_app(WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", WEBHOOK_TIMEOUT_SECONDS=2)
    receiver = Receiver(0)
    writer = start_intake_writer(app, process=True)
    worker = Worker(app, dataclasses.replace(app.extensions["moderation.webhooks.settings"], poll_seconds=30)).start()
    try:
        site, auth = site_auth(app)
        with app.app_context():
            add_endpoint(db.session, site.id, receiver.url(), now=dt.datetime.now(dt.timezone.utc))
        time.sleep(0.3)  # the worker is idle, and would not look again for 30 s unless woken
        answer = app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth)
        assert answer.status_code == 202
        assert receiver.wait_for(1, timeout=5), "the webhook worker was not woken by the child's commit"
    finally:
        worker.stop()
        writer.stop()
        receiver.stop()


def test_the_servers_webhook_worker_is_woken_only_by_events_that_wait_for_it(make_app, only_the_child_writes):
    from moderation.core import sqlite_intake
    from moderation.webhooks.endpoints import add_endpoint
    from moderation.webhooks.worker import on_wake
    from tests.webhooks.receiver import Receiver

    app = make_app(WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    receiver = Receiver(0)
    writer = start_intake_writer(app, process=True)
    woken = threading.Event()
    on_wake(woken)  # set whenever this (the server's) process wakes its webhook workers
    try:
        site, auth = site_auth(app)
        client = app.test_client()
        unheard = client.post("/api/v1/comments", headers=auth,
                              json=valid_comment(author_email="a@example.org", author_ip="203.0.113.1"))
        assert unheard.status_code == 202
        assert not woken.is_set(), "woken for an event no endpoint listens for"
        with app.app_context():
            add_endpoint(db.session, site.id, receiver.url(), now=dt.datetime.now(dt.timezone.utc))
        # On SQLite the child reads which events are listened for again after this long (sqlite_intake).
        time.sleep(sqlite_intake.HELD_SECONDS + 0.1)
        woken.clear()
        heard = client.post("/api/v1/comments", headers=auth,
                            json=valid_comment(author_email="b@example.org", author_ip="203.0.113.2"))
        assert heard.status_code == 202
        assert woken.wait(5), "not woken for an event an endpoint listens for"
    finally:
        writer.stop()
        receiver.stop()


def test_a_child_killed_while_writing_fails_its_comment_with_503_and_a_new_child_takes_over(
        process_app, only_the_child_writes):
    app = process_app()
    _site, auth = site_auth(app)
    client = app.test_client()
    writer = current_writer(app)
    assert client.post("/api/v1/comments", json=valid_comment(content="avant"), headers=auth).status_code == 202
    first_child = writer.process
    os.kill(first_child.pid, signal.SIGSTOP)  # it will receive the next comment but never answer
    answers = []
    sender = threading.Thread(target=lambda: answers.append(
        app.test_client().post("/api/v1/comments", json=valid_comment(content="pendant"), headers=auth)))
    sender.start()
    _wait(lambda: writer._pending, what="the comment to be handed to the child")
    os.kill(first_child.pid, signal.SIGKILL)
    sender.join(30)
    assert answers and answers[0].status_code == 503 and int(answers[0].headers["Retry-After"]) > 0
    assert answers[0].mimetype == "application/problem+json"
    _wait(lambda: writer.running and writer.process is not first_child, what="a new child")
    after = client.post("/api/v1/comments", json=valid_comment(content="après"), headers=auth)
    assert after.status_code == 202
    assert count_rows(app, Comment) == 2  # "avant" and "après"; the killed child committed nothing


def test_a_child_that_does_not_answer_in_time_is_replaced_and_the_request_gets_503(process_app, only_the_child_writes):
    app = process_app()
    _site, auth = site_auth(app)
    writer = current_writer(app)
    writer.answer_timeout_s = 1.0
    stuck = writer.process
    os.kill(stuck.pid, signal.SIGSTOP)
    began = time.monotonic()
    response = app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth)
    assert response.status_code == 503 and time.monotonic() - began < 10
    _wait(lambda: writer.running and writer.process is not stuck, what="a new child")
    assert not stuck.is_alive()
    again = app.test_client().post("/api/v1/comments", json=valid_comment(content="de nouveau"), headers=auth)
    assert again.status_code == 202 and count_rows(app, Comment) == 1


def test_without_a_child_intake_writes_in_the_server_and_a_child_is_tried_again(make_app, monkeypatch):
    started = []

    class NoProcess:
        def __init__(self, *args, **kwargs):
            pass

        def start(self):
            started.append(True)
            raise OSError("Resource temporarily unavailable")

    app = make_app()
    writer = ProcessWriter(app)
    monkeypatch.setattr(writer.context, "Process", NoProcess)
    monkeypatch.setattr(ProcessWriter, "RETRY_AFTER_S", 0.2)
    writer.start()
    app.extensions["moderation.intake_writer"] = writer
    try:
        assert current_writer(app) is None  # nothing to hand comments to
        _site, auth = site_auth(app)
        response = app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth)
        assert response.status_code == 202 and count_rows(app, Comment) == 1
        _wait(lambda: len(started) >= 2, seconds=10, what="another attempt")
        monkeypatch.undo()  # processes can be started again
        _wait(lambda: writer.running, what="the child, once processes can be started")
        later = app.test_client().post("/api/v1/comments", json=valid_comment(content="plus tard"), headers=auth)
        assert later.status_code == 202 and count_rows(app, Comment) == 2
    finally:
        writer.stop()


def test_stopping_lets_the_child_finish_then_intake_writes_in_the_server(process_app):
    app = process_app()
    _site, auth = site_auth(app)
    writer = current_writer(app)
    responses = post_together(app, auth, [valid_comment(author_email=f"s{n}@example.org") for n in range(6)])
    child = writer.process
    assert app.test_client().get("/readyz").get_json()["checks"]["intake_writer"] == "process"
    writer.stop()
    assert app.test_client().get("/readyz").get_json()["checks"]["intake_writer"] == "in request threads (writer stopped)"
    assert [r.status_code for r in responses] == [202] * 6
    assert current_writer(app) is None and not child.is_alive()
    response = app.test_client().post("/api/v1/comments", json=valid_comment(content="après l'arrêt"), headers=auth)
    assert response.status_code == 202 and count_rows(app, Comment) == 7


@pytest.mark.parametrize(("choice", "database", "model", "in_process"), [
    ("auto", "postgresql+psycopg://postgres@127.0.0.1:5432/x", None, True),
    ("auto", "sqlite:///x.sqlite3", None, False),
    ("auto", "sqlite:///x.sqlite3", "a model", True),
    ("process", "sqlite:///x.sqlite3", None, True),
    ("thread", "postgresql+psycopg://postgres@127.0.0.1:5432/x", "a model", False),
])
def test_serve_writes_in_a_child_on_postgresql_or_with_a_model_and_in_a_thread_on_sqlite_without_unless_told(
        choice, database, model, in_process):
    from types import SimpleNamespace

    from moderation.cli import _writer_in_process

    app = SimpleNamespace(config={"MODERATION_INTAKE_WRITER": choice, "SQLALCHEMY_DATABASE_URI": database},
                          extensions={"moderation.models": SimpleNamespace(current=model)})
    assert _writer_in_process(app) is in_process


def test_an_unknown_writer_setting_is_refused_at_start():
    from moderation.config import load_config

    with pytest.raises(ValueError, match="auto, process, thread"):
        load_config(environ={"MODERATION_INTAKE_WRITER": "fibre", "MODERATION_DATABASE_URL": "sqlite:///x.sqlite3",
                             "MODERATION_SECRET_KEY": "s"})


def test_big_comments_while_the_answers_are_read_slowly_all_get_through(process_app, monkeypatch):
    """The child blocks sending answers nobody reads yet, stops reading, the pipe to it fills and
    request threads block sending: once answers are read again everything flows (a review found
    a deadlock here: senders held the lock the answer-reading thread needed)."""
    from moderation import intake_process

    app = process_app()
    _site, auth = site_auth(app)
    writer = current_writer(app)
    writer.answer_timeout_s = 30.0
    slowed = []

    class ReadsOneAnswerSlowly:
        def labels(self, **_labels):
            return self

        def inc(self):
            if not slowed:
                slowed.append(True)
                time.sleep(3)  # as if this thread had lost the GIL for a while

    monkeypatch.setattr(intake_process, "COMMENTS_RECEIVED", ReadsOneAnswerSlowly())
    statuses = {}

    def post(n):
        body = valid_comment(author_email=f"long{n}@example.org", content=f"{n} مقال " + "article long " * 4600)  # ~60 KB, under the 64 KiB body limit
        statuses[n] = app.test_client().post("/api/v1/comments", json=body, headers=auth).status_code

    threads = []
    for wave in range(4):
        for n in range(wave * 8, wave * 8 + 8):
            threads.append(threading.Thread(target=post, args=(n,)))
            threads[-1].start()
        time.sleep(0.3)
    for thread in threads:
        thread.join(60)
    assert slowed and sorted(statuses.values()) == [202] * 32
    assert count_rows(app, Comment) == 32


class _ExitsWhenUnpickled:
    """Passed to the child, it ends the child before it can say it is ready (as a crash at start would)."""

    def __reduce__(self):
        return os._exit, (3,)


def test_a_child_that_dies_while_starting_is_retried_and_intake_goes_on_meanwhile(make_app, monkeypatch):
    app = make_app()
    writer = ProcessWriter(app)
    good = writer.overrides
    writer.overrides = {**good, "CRASH": _ExitsWhenUnpickled()}
    monkeypatch.setattr(ProcessWriter, "RETRY_AFTER_S", 0.5)
    began = time.monotonic()
    writer.start()
    app.extensions["moderation.intake_writer"] = writer
    try:
        assert time.monotonic() - began < 30 and not writer.running and writer.thread.is_alive()
        state = app.test_client().get("/readyz").get_json()["checks"]["intake_writer"]
        assert state == "in request threads (writer process starting)"
        _site, auth = site_auth(app)
        assert app.test_client().post("/api/v1/comments", json=valid_comment(), headers=auth).status_code == 202
        writer.overrides = good
        _wait(lambda: writer.running, what="a child once it can start")
        later = app.test_client().post("/api/v1/comments", json=valid_comment(content="ensuite"), headers=auth)
        assert later.status_code == 202 and count_rows(app, Comment) == 2
    finally:
        writer.stop()


def test_a_stop_while_a_child_starts_ends_that_child_and_the_thread(make_app, monkeypatch):
    app = make_app()
    writer = ProcessWriter(app)
    launched = []
    real_launch = writer._launch

    def launch_then_stop_arrives():
        link = real_launch()
        launched.append(link)
        writer._stopping.set()  # stop() was called while the child started
        return link

    monkeypatch.setattr(writer, "_launch", launch_then_stop_arrives)
    writer.start()
    writer.thread.join(30)
    assert not writer.thread.is_alive() and not writer.running
    process, _connection = launched[0]
    assert not process.is_alive()  # told to stop, not left waiting on its pipe
