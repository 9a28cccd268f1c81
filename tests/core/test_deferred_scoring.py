"""Scoring left to the writer: a batch is scored in one call, each comment keeps its own scores or its reason."""
from __future__ import annotations

import datetime as dt

from moderation.core.models import Comment, Site
from moderation.core.policy import PolicySettings
from moderation.core.sites import create_site
from moderation.core.submissions import IntakeSettings, WriterClosed, prepare, score_deferred, submit_comment
from moderation.extensions import db
from moderation.metrics import COMMENTS_UNSCORED
from tests.conftest import FakeScorer, valid_comment

SETTINGS = IntakeSettings(PolicySettings(), dt.timedelta(0), scoring_timeout_s=0.25)
NOW = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)


class BatchScorer(FakeScorer):
    """Scores batches, as the scoring processes do; records each call, and fails the comments it is told to."""

    batches = True

    def __init__(self, failures=None) -> None:
        super().__init__()
        self.calls: list[list[tuple]] = []
        self.failures = failures or {}

    def score(self, *args, **kwargs):
        raise AssertionError("scored one by one")

    def score_batch(self, requests):
        self.calls.append(requests)
        return [self.failures.get(content) or FakeScorer.score(self, content, name, url)
                for content, name, url in requests]


def _prepared(scorer, texts, defer=True):
    site = Site(id=1, name="Le Site", allow_list_auto_approve=False)
    return [prepare(site, valid_comment(content=text), scorer=scorer, settings=SETTINGS, now=NOW, defer_scoring=defer)
            for text in texts]


def test_deferred_submissions_are_scored_in_one_call_each_with_its_own_scores():
    scorer = BatchScorer()
    batch = _prepared(scorer, ["Très bon article", "casino en ligne", "espèce d'idiot"])
    assert [s.scores for s in batch] == [None] * 3 and all(s.deferred_scorer is scorer for s in batch)
    scored = score_deferred(batch, SETTINGS.scoring_timeout_s)
    assert len(scorer.calls) == 1 and [c for c, _n, _u in scorer.calls[0]] == [s.data["content"] for s in batch]
    assert [(s.scores.spam, s.scores.abuse) for s in scored] == [(0.01, 0.01), (0.995, 0.01), (0.01, 0.9)]
    assert all(s.deferred_scorer is None and s.unscored_reason is None for s in scored)
    assert scored[0].scores.model_version == "fake-1" and scored[0].scores.thresholds == FakeScorer.thresholds


def test_a_failure_or_a_timeout_costs_only_that_comment_its_score_and_is_counted():
    timeouts = COMMENTS_UNSCORED.labels(reason="scoring took longer than 250 ms")
    failures = COMMENTS_UNSCORED.labels(reason="scoring failed")
    before = timeouts._value.get(), failures._value.get()
    scorer = BatchScorer({"lent": TimeoutError("too slow"), "cassé": ValueError("bad input")})
    scored = score_deferred(_prepared(scorer, ["lent", "bien", "cassé"]), SETTINGS.scoring_timeout_s)
    assert [s.unscored_reason for s in scored] == ["scoring took longer than 250 ms", None, "scoring failed: ValueError"]
    assert scored[0].scores is None and scored[1].scores.spam == 0.01 and scored[2].scores is None
    assert (timeouts._value.get(), failures._value.get()) == (before[0] + 1, before[1] + 1)


def test_a_scorer_that_raises_leaves_the_whole_batch_unscored_not_lost():
    class Broken(BatchScorer):
        def score_batch(self, requests):
            raise OSError("pipe closed")

    scored = score_deferred(_prepared(Broken(), ["un", "deux"]), SETTINGS.scoring_timeout_s)
    assert [s.unscored_reason for s in scored] == ["scoring failed: OSError"] * 2


def test_without_a_batch_scorer_or_without_deferral_the_request_scores_itself():
    plain = FakeScorer()
    (alone,) = _prepared(plain, ["casino"], defer=True)
    assert alone.deferred_scorer is None and alone.scores.spam == 0.995
    loading = BatchScorer()
    loading.batches = False  # the workers are still loading the model: scored in process, now
    loading.score = lambda content, author_name="", author_url="": FakeScorer.score(loading, content)
    (now_scored,) = _prepared(loading, ["idiot"], defer=True)
    assert now_scored.deferred_scorer is None and now_scored.scores.abuse == 0.9
    (not_deferred,) = _prepared(plain, ["bien"], defer=False)
    assert score_deferred([not_deferred], 0.25) == [not_deferred]


def test_a_batch_spanning_a_model_swap_is_scored_by_each_submissions_own_scorer():
    old, new = BatchScorer(), BatchScorer()
    new.version = "fake-2"
    batch = _prepared(old, ["a", "b"]) + _prepared(new, ["c"])
    scored = score_deferred(batch, 0.25)
    assert [s.scores.model_version for s in scored] == ["fake-1", "fake-1", "fake-2"]
    assert len(old.calls) == len(new.calls) == 1


def test_a_deferred_comment_whose_writer_stopped_is_scored_before_the_request_writes_it(app):
    class StoppedWriter:
        def __call__(self, submission):
            assert submission.deferred_scorer is not None  # the request left the scoring to the writer
            raise WriterClosed()

    scorer = BatchScorer()
    with app.app_context():
        site, _key = create_site(db.session, "Arrêt")
        comment = submit_comment(db.session, site, valid_comment(content="casino gratuit"), scorer=scorer,
                                 settings=SETTINGS, now=NOW, writer=StoppedWriter())
        stored = db.session.get(Comment, comment.id)
        assert (stored.spam_score, stored.unscored_reason, stored.model_version) == (0.995, None, "fake-1")
        assert len(scorer.calls) == 1
