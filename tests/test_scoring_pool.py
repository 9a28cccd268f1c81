"""Scoring in worker processes: the same results as in process, and a stuck or dead worker costs one comment's score, never the comment."""
from __future__ import annotations

import os
import signal
import time

import pytest
import sqlalchemy as sa

from moderation.classifier import load_model
from moderation.config import REPO_MODELS_DIR
from moderation.core.models import Comment
from moderation.extensions import db
from moderation.scoring_pool import PooledScorer, ScoringPool, WorkerFailed, start_scoring_pool
from tests.conftest import HANDWRITTEN_COMMENTS as TEXTS
from tests.conftest import post_together, site_auth, valid_comment


@pytest.fixture(scope="module")
def model():
    return load_model(REPO_MODELS_DIR)


def _wait(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "scoring workers did not start"
        time.sleep(0.05)


@pytest.fixture
def pool(model):
    pool = ScoringPool(1, timeout_s=2.0)
    pool.prepare(model)
    _wait(lambda: pool.holds(model) and pool.pids())
    yield pool
    pool.close()


@pytest.fixture
def ready_pool(model):
    """Pools of `size` workers holding the model, closed after the test."""
    pools = []

    def build(size: int, timeout_s: float) -> ScoringPool:
        pool = ScoringPool(size, timeout_s=timeout_s)
        pools.append(pool)
        pool.prepare(model)
        _wait(lambda: pool.holds(model) and len(pool.pids()) == size)
        return pool

    yield build
    for pool in pools:
        pool.close()


class _NotInProcess:
    """The model as the pool sees it, except that scoring it in this process fails the test."""

    def __init__(self, model) -> None:
        self.source, self.version, self.thresholds = model.source, model.version, model.thresholds

    def score(self, *args, **kwargs):
        raise AssertionError("scored in the test process, not by a worker")


def test_workers_give_the_same_scores_languages_and_explanations_as_the_process(model, pool):
    scorer = PooledScorer(_NotInProcess(model), pool)
    for content, name, url in TEXTS:
        assert scorer.score(content, name, url) == model.score(content, author_name=name, author_url=url)
    assert (scorer.version, scorer.thresholds) == (model.version, model.thresholds)


def test_concurrent_requests_share_the_workers_and_each_gets_its_own_result(model, ready_pool):
    from concurrent.futures import ThreadPoolExecutor

    pool = ready_pool(2, 5.0)
    texts = [(f"{content} {n}", name, url) for n in range(10) for content, name, url in TEXTS]
    with ThreadPoolExecutor(8) as threads:
        results = list(threads.map(lambda text: pool.score(_NotInProcess(model), *text), texts))
    assert results == [model.score(c, author_name=n, author_url=u) for c, n, u in texts]
    assert len(pool.pids()) == 2  # every worker came back


def test_a_swap_while_the_workers_load_ends_with_the_newer_model_and_no_extra_processes(model):
    import multiprocessing

    older = load_model(REPO_MODELS_DIR, _other_version(model))
    pool = ScoringPool(2, timeout_s=2.0)
    try:
        pool.prepare(model)
        pool.prepare(older)  # the watcher swapped before the first load finished
        alive = []

        def settled() -> bool:
            pool.prepare(older)  # as every comment scored meanwhile asks again
            alive.append(len(multiprocessing.active_children()))
            return pool.holds(older) and len(pool.pids()) == 2 and alive[-1] == 2

        _wait(settled)  # the superseded load stops its workers once they are up
        assert max(alive) <= 4  # two loads of two workers, never a third load
        assert pool.holds(older) and not pool.holds(model)
    finally:
        pool.close()


def test_workers_that_cannot_be_started_leave_scoring_in_process_and_can_be_retried(model, monkeypatch):
    from moderation import scoring_pool

    real_worker = scoring_pool._Worker

    def no_more_processes(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(scoring_pool, "_Worker", no_more_processes)
    monkeypatch.setattr(ScoringPool, "RETRY_AFTER_FAILURE_S", 0.0)
    pool = ScoringPool(1, timeout_s=2.0)
    try:
        pool.prepare(model)
        time.sleep(0.5)
        assert not pool.holds(model) and pool.pids() == []
        assert pool.score(model, *TEXTS[0]) == model.score(TEXTS[0][0], author_name=TEXTS[0][1])
        monkeypatch.setattr(scoring_pool, "_Worker", real_worker)
        # The failed loads released their claim: a later one runs. Asked again and again, as each
        # comment scored in process asks (a load started while workers still failed may be in flight).
        _wait(lambda: pool.prepare(model) or (pool.holds(model) and pool.pids()))
    finally:
        pool.close()


def test_a_failed_replacement_for_a_model_no_longer_in_use_leaves_the_current_workers_alone(model, pool, tmp_path):
    before = pool.pids()
    pool._start_one((str(tmp_path), "gone"))  # what a replacement thread does for a pruned old model
    assert pool.holds(model) and pool.pids() == before


def test_until_the_workers_hold_a_model_it_is_scored_in_process(model):
    pool = ScoringPool(1, timeout_s=2.0)
    try:
        content, name, url = TEXTS[1]
        assert not pool.holds(model)
        assert pool.score(model, content, name, url) == model.score(content, author_name=name, author_url=url)
    finally:
        pool.close()


def test_a_stuck_worker_times_out_within_budget_and_is_replaced(model, pool):
    (stuck,) = pool.pids()
    os.kill(stuck, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        pool.score(model, *TEXTS[0])
    assert time.monotonic() - started < 4  # the 2 s budget, not a hang
    _wait(lambda: pool.pids() and pool.pids() != [stuck])
    assert pool.score(model, *TEXTS[0]) == model.score(TEXTS[0][0], author_name=TEXTS[0][1])


def test_a_dead_worker_fails_one_comment_and_is_replaced(model, pool):
    (dead,) = pool.pids()
    os.kill(dead, signal.SIGKILL)
    time.sleep(0.2)
    with pytest.raises(WorkerFailed):
        pool.score(model, *TEXTS[2])
    _wait(lambda: pool.pids() and pool.pids() != [dead])
    assert pool.score(model, *TEXTS[2]).language == model.score(TEXTS[2][0], author_name=TEXTS[2][1]).language


def test_intake_through_the_workers_stores_the_scores_and_a_dead_worker_leaves_the_comment_unscored(make_app, model):
    app = make_app(LOAD_MODEL=True, SCORING_TIMEOUT_MS=2000)
    from moderation.core.sites import create_site

    with app.app_context():
        _site, key = create_site(db.session, "Le Site")
    auth = {"Authorization": f"Bearer {key}"}
    pool = start_scoring_pool(app, 1)
    try:
        holder = app.extensions["moderation.models"]
        _wait(lambda: pool.holds(holder.current) and pool.pids())
        client = app.test_client()
        assert client.get("/readyz").get_json()["checks"]["scoring"] == "worker processes"
        content = TEXTS[1][0]
        scored = client.post("/api/v1/comments", json=valid_comment(content=content), headers=auth)
        assert scored.status_code == 202
        os.kill(pool.pids()[0], signal.SIGKILL)
        time.sleep(0.2)
        unscored = client.post("/api/v1/comments", json=valid_comment(content="Encore un avis", author_email="b@example.org"),
                               headers=auth)
        assert unscored.status_code == 202  # the comment is accepted all the same
        with app.app_context():
            first = db.session.get(Comment, scored.get_json()["id"])
            second = db.session.get(Comment, unscored.get_json()["id"])
            assert first.spam_score == pytest.approx(model.score(content, author_name="Amina").spam, abs=1e-12)
            assert first.unscored_reason is None
            assert second.spam_score is None and second.unscored_reason.startswith("scoring failed")
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 2
    finally:
        pool.close()


def test_a_comment_the_model_fails_on_costs_its_score_but_not_the_worker(model, pool):
    (worker,) = pool.pids()
    with pytest.raises(WorkerFailed):
        pool.score(model, 12345, "", "")  # not text: the model raises in the worker
    assert pool.pids() == [worker]
    assert pool.score(model, *TEXTS[3]) == model.score(TEXTS[3][0], author_name=TEXTS[3][1])


def test_when_workers_can_no_longer_start_scoring_goes_back_in_process(tmp_path):
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(REPO_MODELS_DIR, copy)
    model = load_model(copy)
    pool = ScoringPool(1, timeout_s=2.0)
    try:
        pool.prepare(model)
        _wait(lambda: pool.holds(model) and pool.pids())
        shutil.rmtree(copy)  # the artifact is gone: a replacement cannot load it
        os.kill(pool.pids()[0], signal.SIGKILL)
        time.sleep(0.2)
        with pytest.raises(WorkerFailed):
            pool.score(model, *TEXTS[0])
        _wait(lambda: not pool.holds(model))
        started = time.monotonic()
        assert pool.score(model, *TEXTS[0]) == model.score(TEXTS[0][0], author_name=TEXTS[0][1])
        assert time.monotonic() - started < 1  # in process, not waiting for a worker that never comes
    finally:
        pool.close()


def _other_version(model) -> str:
    others = sorted(p.stem for p in REPO_MODELS_DIR.glob("*.skops") if p.stem != model.version)
    assert others, "models/ keeps an earlier version beside the current one"
    return others[0]


def test_a_swapped_model_is_scored_in_process_until_the_workers_hold_it(model, pool):
    older = load_model(REPO_MODELS_DIR, _other_version(model))
    before = pool.pids()
    content, name, url = TEXTS[4]
    assert pool.score(older, content, name, url) == older.score(content, author_name=name, author_url=url)
    _wait(lambda: pool.holds(older) and pool.pids() and pool.pids() != before)
    assert not pool.holds(model)
    assert pool.score(older, content, name, url) == older.score(content, author_name=name, author_url=url)


def test_a_batch_is_dealt_to_the_workers_and_each_comment_gets_its_own_result_in_order(model, ready_pool):
    pool = ready_pool(2, 5.0)
    texts = [(f"{content} {n}", name, url) for n in range(3) for content, name, url in TEXTS]
    assert pool.score_batch(_NotInProcess(model), texts) == [
        model.score(c, author_name=n, author_url=u) for c, n, u in texts]
    assert len(pool.pids()) == 2  # both workers came back


def test_in_a_batch_a_comment_the_model_fails_on_costs_only_its_own_score(model, pool):
    (worker,) = pool.pids()
    results = pool.score_batch(_NotInProcess(model), [TEXTS[0], (12345, "", ""), TEXTS[2]])
    assert isinstance(results[1], WorkerFailed)
    assert results[0] == model.score(TEXTS[0][0], author_name=TEXTS[0][1])
    assert results[2] == model.score(TEXTS[2][0], author_name=TEXTS[2][1])
    assert pool.pids() == [worker]


def test_a_stuck_worker_fails_its_share_of_a_batch_within_the_budget_and_is_replaced(model, ready_pool):
    pool = ready_pool(2, 1.5)
    stuck = pool.pids()[0]  # the first idle worker takes comments 0, 2, 4…
    os.kill(stuck, signal.SIGSTOP)
    started = time.monotonic()
    results = pool.score_batch(_NotInProcess(model), TEXTS)
    assert time.monotonic() - started < 3  # one budget for the batch, not one per comment
    assert [isinstance(result, TimeoutError) for result in results] == [True, False, True, False, True]
    assert results[1] == model.score(TEXTS[1][0], author_name=TEXTS[1][1], author_url=TEXTS[1][2])
    _wait(lambda: len(pool.pids()) == 2 and stuck not in pool.pids())


def test_intake_through_the_writer_thread_scores_each_batch_in_the_workers(writer_app, model, monkeypatch):
    app = writer_app(LOAD_MODEL=True, SCORING_TIMEOUT_MS=5000)
    _site, auth = site_auth(app)
    pool = start_scoring_pool(app, 2)
    try:
        holder = app.extensions["moderation.models"]
        _wait(lambda: pool.holds(holder.current) and len(pool.pids()) == 2)

        def not_one_by_one(*args, **kwargs):
            raise AssertionError("a request thread scored its own comment")

        monkeypatch.setattr(PooledScorer, "score", not_one_by_one)
        bodies = [valid_comment(content=f"{content} ({n})", author_name=name or "Anonyme",
                                author_email=f"reader{n}@example.org") for n, (content, name, _url) in enumerate(TEXTS)]
        responses = post_together(app, auth, bodies)
        assert [response.status_code for response in responses] == [202] * len(TEXTS)
        with app.app_context():
            for body, response in zip(bodies, responses):
                comment = db.session.get(Comment, response.get_json()["id"])
                expected = model.score(body["content"], author_name=body["author_name"])
                assert (comment.spam_score, comment.abuse_score) == (expected.spam, expected.abuse)
                assert comment.detected_language == expected.language and comment.unscored_reason is None
        for pid in pool.pids():
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        late = app.test_client().post("/api/v1/comments", headers=auth,
                                      json=valid_comment(content="Un avis de plus", author_email="z@example.org"))
        assert late.status_code == 202  # accepted all the same, without its score
        with app.app_context():
            comment = db.session.get(Comment, late.get_json()["id"])
            assert comment.spam_score is None and comment.unscored_reason.startswith("scoring failed")
    finally:
        pool.close()
