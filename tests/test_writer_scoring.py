"""Scoring in the intake writer process: the same scores as here, the model the server swaps in, and a slow or missing model costs the score, never the comment."""
from __future__ import annotations

import shutil
import time

import pytest

from moderation.classifier import load_model
from moderation.classifier.commands import train_command
from moderation.config import REPO_MODELS_DIR
from moderation.core import submissions
from moderation.core.models import Comment, CommentStatus
from moderation.extensions import db
from moderation.intake_process import ProcessWriter
from moderation.intake_writer import current_writer
from moderation.metrics import COMMENTS_UNSCORED, SCORING_SECONDS
from moderation.writer_scoring import BatchScorer, ModelCopy
from tests.classifier.conftest import write_tiny_datasets
from tests.conftest import HANDWRITTEN_COMMENTS as TEXTS
from tests.conftest import post_together, site_auth, valid_comment


@pytest.fixture(scope="module")
def shipped():
    return load_model(REPO_MODELS_DIR)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A second model (version test-1), trained on hand-written templates, to swap in."""
    root = tmp_path_factory.mktemp("datasets")
    manifest = write_tiny_datasets(root)
    models = tmp_path_factory.mktemp("models")
    train_command(datasets_dir=root, models_dir=models, manifest_path=manifest, version="test-1",
                  progress=False, min_df=1, max_features=5000, language_rows_per_class=100)
    return models


@pytest.fixture
def scoring_app(writer_app, monkeypatch):
    """An app whose intake writer is a child process holding the shipped model; nothing is scored
    or written in this process (the child's copy of the code is not patched)."""

    def build(**overrides):
        app = writer_app(process=True, LOAD_MODEL=True, **overrides)
        assert isinstance(current_writer(app), ProcessWriter), "the writer process did not start"
        monkeypatch.setattr(BatchScorer, "score", _refuse("scored in the server's process"))
        monkeypatch.setattr(BatchScorer, "score_batch", _refuse("scored in the server's process"))
        monkeypatch.setattr(submissions, "write_batch", _refuse("written in the server's process"))
        return app

    return build


def _refuse(what):
    def refuse(*_args, **_kwargs):
        raise AssertionError(what)

    return refuse


def _bodies(texts=TEXTS, tag=""):
    return [valid_comment(content=content, author_name=name, author_url=url or ...,
                          author_email=f"reader{n}{tag}@example.org", author_ip=f"203.0.113.{n + 1}")
            for n, (content, name, url) in enumerate(texts)]


def _stored(app, response) -> Comment:
    with app.app_context():
        comment = db.session.get(Comment, response.get_json()["id"])
        db.session.expunge(comment)
        return comment


def test_the_writer_process_scores_each_comment_exactly_as_the_model_does_here(scoring_app, shipped):
    app = scoring_app()
    _site, auth = site_auth(app)
    assert app.test_client().get("/readyz").get_json()["checks"]["scoring"] == "intake writer process"
    observed = SCORING_SECONDS._sum.get(), sum(bucket.get() for bucket in SCORING_SECONDS._buckets)
    bodies = _bodies()
    responses = post_together(app, auth, bodies)
    assert [response.status_code for response in responses] == [202] * len(bodies)
    for body, response in zip(bodies, responses):
        comment = _stored(app, response)
        expected = shipped.score(body["content"], author_name=body["author_name"], author_url=body.get("author_url") or "")
        assert (comment.spam_score, comment.abuse_score) == (expected.spam, expected.abuse)
        assert (comment.detected_language, comment.model_version) == (expected.language, shipped.version)
        assert comment.explanation == expected.explanation and comment.unscored_reason is None
    # The child's scoring is counted in this process's metrics.
    assert sum(bucket.get() for bucket in SCORING_SECONDS._buckets) == observed[1] + len(bodies)
    assert SCORING_SECONDS._sum.get() > observed[0]


def test_a_model_swapped_in_the_server_scores_the_next_comments_in_the_writer_process(scoring_app, shipped, tiny_models):
    app = scoring_app()
    _site, auth = site_auth(app)
    first = app.test_client().post("/api/v1/comments", json=_bodies()[0], headers=auth)
    tiny = load_model(tiny_models)
    app.extensions["moderation.models"].swap(tiny)
    body = _bodies(tag="-after")[4]
    second = app.test_client().post("/api/v1/comments", json=body, headers=auth)
    assert (first.status_code, second.status_code) == (202, 202)
    before = _stored(app, first)
    assert (before.model_version, before.unscored_reason) == (shipped.version, None)
    comment = _stored(app, second)
    expected = tiny.score(body["content"], author_name=body["author_name"])
    assert (comment.model_version, comment.spam_score, comment.abuse_score) == ("test-1", expected.spam, expected.abuse)


def test_thresholds_tuned_in_the_server_label_the_comments_scored_in_the_writer_process(scoring_app, shipped):
    from moderation.learning.registry import with_thresholds

    app = scoring_app()
    _site, auth = site_auth(app)
    holder = app.extensions["moderation.models"]
    before = app.test_client().post("/api/v1/comments", json=_bodies()[0], headers=auth)
    holder.swap(with_thresholds(holder.current, {"spam": {"flag": 0.0}}))  # every comment looks like spam now
    after = app.test_client().post("/api/v1/comments", json=_bodies(tag="-tuned")[0], headers=auth)
    assert (before.status_code, after.status_code) == (202, 202)
    codes = [[reason["code"] for reason in _stored(app, response).reasons] for response in (before, after)]
    assert "likely_spam" not in codes[0] and "likely_spam" in codes[1]
    assert _stored(app, after).model_version == shipped.version


def test_scoring_past_its_budget_leaves_the_comment_pending_unscored_and_counted(scoring_app):
    app = scoring_app(SCORING_TIMEOUT_MS=0, AUTO_APPROVE=True)
    _site, auth = site_auth(app)
    counter = COMMENTS_UNSCORED.labels(reason="scoring took longer than 0 ms")
    before = counter._value.get()
    response = app.test_client().post("/api/v1/comments", json=_bodies()[0], headers=auth)
    assert response.status_code == 202 and response.get_json()["status"] == "pending"  # never auto-approved
    comment = _stored(app, response)
    assert comment.spam_score is None and comment.unscored_reason == "scoring took longer than 0 ms"
    assert comment.status is CommentStatus.PENDING
    assert counter._value.get() == before + 1


def test_a_model_the_writer_process_cannot_load_costs_the_scores_not_the_comments(scoring_app, tiny_models, tmp_path):
    app = scoring_app()
    _site, auth = site_auth(app)
    doomed = tmp_path / "models"
    shutil.copytree(tiny_models, doomed)
    app.extensions["moderation.models"].swap(load_model(doomed))
    shutil.rmtree(doomed)  # gone before the child could load it
    counter = COMMENTS_UNSCORED.labels(reason="model not loaded in the intake writer")
    before = counter._value.get()
    responses = post_together(app, auth, _bodies()[:2])
    assert [response.status_code for response in responses] == [202, 202]
    for response in responses:
        comment = _stored(app, response)
        assert comment.spam_score is None and comment.status is CommentStatus.PENDING
        assert comment.unscored_reason.startswith("model not loaded in the intake writer: test-1, ")
    assert counter._value.get() == before + 2


class _SlowModel:
    """Takes `seconds` per comment; fails on the text "boom"."""

    version, thresholds = "slow-1", {}

    def __init__(self, seconds: float, source=("nowhere", "slow-1")) -> None:
        self.seconds, self.source = seconds, source

    def score(self, content, author_name="", author_url=""):
        if content == "boom":
            raise ValueError("cannot read this")
        time.sleep(self.seconds)
        return f"scores of {content}"


def test_a_batch_in_process_keeps_to_its_budget_and_a_failure_costs_one_comment():
    scorer = BatchScorer(_SlowModel(0.2), timeout_s=0.3)
    results = scorer.score_batch([("a", "", ""), ("boom", "", ""), ("b", "", ""), ("c", "", ""), ("d", "", "")])
    assert results[0] == "scores of a" and isinstance(results[1], ValueError)
    assert isinstance(results[2], TimeoutError)  # finished past the budget: discarded
    assert all(isinstance(result, TimeoutError) for result in results[3:])  # not even started
    assert BatchScorer(_SlowModel(0), timeout_s=1).score_batch([("x", "", "")]) == ["scores of x"]


def test_a_comment_whose_scoring_does_not_end_is_interrupted_at_the_budget_in_the_main_thread():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    results = BatchScorer(_SlowModel(30.0), timeout_s=0.2).score_batch([("a", "", ""), ("b", "", "")])
    assert [type(result) for result in results] == [TimeoutError, TimeoutError]
    assert time.monotonic() - started < 5  # not the 30 s the model would take
    assert signal.getsignal(signal.SIGALRM) == before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    time.sleep(0.3)  # no alarm left to go off later


def test_without_the_writer_process_a_slow_model_costs_the_score_within_budget_not_the_wait():
    from moderation.core.scoring import score_submission, scores_in_batches

    slow = BatchScorer(_SlowModel(2.0), timeout_s=0.1)
    started = time.monotonic()
    scores, reason = score_submission(slow, "Un avis", "Amina", None, timeout_s=0.1)
    assert (scores, reason) == (None, "scoring took longer than 100 ms")
    assert time.monotonic() - started < 1.5  # the request did not wait for the 2 s scoring
    # A model built in memory, which the writer process could not load, is scored where it is.
    assert scores_in_batches(slow) and not scores_in_batches(BatchScorer(_SlowModel(0, source=None), timeout_s=1))


def test_the_writer_process_keeps_the_two_latest_models_so_a_swap_loads_each_once(tiny_models, tmp_path, monkeypatch):
    import moderation.classifier

    loads = []
    real = moderation.classifier.load_model

    def counting(directory, version=None):
        loads.append(str(directory))
        return real(directory, version)

    monkeypatch.setattr(moderation.classifier, "load_model", counting)
    third = tmp_path / "third"
    shutil.copytree(tiny_models, third)
    old, new, newest = (str(REPO_MODELS_DIR), load_model(REPO_MODELS_DIR).version), (str(tiny_models), "test-1"), (str(third), "test-1")
    copy = ModelCopy(timeout_s=1.0)
    for source in (old, new, old, new, old):  # comments prepared on both sides of a swap, interleaved
        scorer, reason = copy.scorer_for(source)
        assert reason is None and scorer.source == source
    assert loads == [old[0], new[0]]
    copy.scorer_for(newest)
    copy.scorer_for(old)  # the oldest of three was let go
    assert loads == [old[0], new[0], newest[0], old[0]]


def test_a_model_that_would_not_load_is_tried_again_only_after_a_while(tiny_models, tmp_path, monkeypatch):
    copy = ModelCopy(timeout_s=1.0)
    missing = (str(tmp_path / "nothing"), "test-1")
    scorer, reason = copy.scorer_for(missing)
    assert scorer is None and reason.startswith("model not loaded in the intake writer: test-1, ")
    shutil.copytree(tiny_models, tmp_path / "nothing")
    assert copy.scorer_for(missing) == (None, reason)  # not loaded again on every batch
    monkeypatch.setattr(ModelCopy, "RETRY_AFTER_FAILURE_S", 0.0)
    scorer, reason = copy.scorer_for(missing)
    assert reason is None and scorer.version == "test-1" and copy.scorer_for(missing)[0] is scorer
