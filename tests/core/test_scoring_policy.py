"""Scores become a status through the policy; a missing, failing or slow model never loses a comment."""
from __future__ import annotations

import time

import pytest

from moderation.core.models import Comment
from moderation.core.policy import PolicySettings, Scores, decide
from moderation.core.status import CommentStatus
from moderation.extensions import db
from moderation.metrics import COMMENTS_UNSCORED
from tests.conftest import FakeScorer, valid_comment

THRESHOLDS = FakeScorer.thresholds


def scores(spam, abuse):
    return Scores(spam, abuse, "fr", "m", {}, THRESHOLDS)


def test_pre_moderation_is_the_default_and_scores_only_label():
    verdict = decide(scores(0.01, 0.01), PolicySettings())
    assert verdict.status is CommentStatus.PENDING and verdict.reasons == []
    flagged = decide(scores(0.7, 0.8), PolicySettings())
    assert flagged.status is CommentStatus.PENDING
    assert [r["code"] for r in flagged.reasons] == ["likely_spam", "likely_abusive"]


def test_auto_approve_and_auto_spam_when_the_site_allows():
    settings = PolicySettings(auto_approve=True, auto_spam=True)
    assert decide(scores(0.01, 0.02), settings).status is CommentStatus.APPROVED
    assert decide(scores(0.2, 0.02), settings).status is CommentStatus.PENDING
    assert decide(scores(0.995, 0.0), settings).status is CommentStatus.SPAM
    assert decide(scores(0.995, 0.0), PolicySettings()).status is CommentStatus.PENDING


def test_unscored_is_pending_even_with_auto_approval():
    verdict = decide(None, PolicySettings(auto_approve=True), "no model loaded")
    assert verdict.status is CommentStatus.PENDING
    assert verdict.reasons == [{"code": "unscored", "detail": "no model loaded"}]


class BrokenScorer(FakeScorer):
    def score(self, *args, **kwargs):
        raise RuntimeError("model exploded")


class SlowScorer(FakeScorer):
    def score(self, *args, **kwargs):
        time.sleep(0.5)
        return super().score(*args, **kwargs)


@pytest.mark.parametrize("scorer,reason", [
    (None, "no model loaded"), (BrokenScorer(), "scoring failed: RuntimeError"),
    (SlowScorer(), "scoring took longer than 50 ms"),
])
def test_comment_is_accepted_unscored_when_the_model_is_missing_fails_or_is_slow(make_app, scorer, reason):
    from moderation.core.sites import create_site

    app = make_app(AUTO_APPROVE=True, SCORING_TIMEOUT_MS=50)
    app.extensions["moderation.models"].swap(scorer)
    with app.app_context():
        _site, key = create_site(db.session, "S")
    label = reason.split(":")[0]
    before = COMMENTS_UNSCORED.labels(reason=label)._value.get()
    response = app.test_client().post("/api/v1/comments", json=valid_comment(), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
    with app.app_context():
        comment = db.session.get(Comment, response.get_json()["id"])
        assert comment.unscored_reason == reason and comment.spam_score is None
    assert COMMENTS_UNSCORED.labels(reason=label)._value.get() == before + 1


def test_scores_language_and_version_are_stored_with_the_comment(app, client, auth, fake_scorer):
    response = client.post("/api/v1/comments", json=valid_comment(content="casino idiot"), headers=auth)
    with app.app_context():
        comment = db.session.get(Comment, response.get_json()["id"])
    assert (comment.spam_score, comment.abuse_score, comment.model_version) == (0.995, 0.9, "fake-1")
    assert comment.risk == 0.995 and comment.detected_language == "fr"
    assert {r["code"] for r in comment.reasons} == {"likely_spam", "likely_abusive"}


def test_auto_spam_threshold_of_one_means_never():
    never = Scores(1.0, 0.0, "fr", "m", {}, {"spam": {"flag": 0.35, "auto_spam": 1.0}, "abuse": {"flag": 0.75}})
    assert decide(never, PolicySettings(auto_spam=True)).status is CommentStatus.PENDING


class TurnsSlowScorer(FakeScorer):
    """Fast until told otherwise, like a model that starts to struggle in production."""

    slow = False

    def score(self, *args, **kwargs):
        if self.slow:
            time.sleep(0.3)
        return super().score(*args, **kwargs)


def test_a_trusted_scorer_that_turns_slow_is_discarded_and_put_back_on_the_bounded_path():
    from moderation.core import scoring

    scorer = TurnsSlowScorer()
    for _ in range(scoring.PROBATION_CALLS):
        result, reason = scoring.score_submission(scorer, "bonjour", "Ali", None, timeout_s=0.1)
        assert reason is None and result.model_version == "fake-1"
    assert scoring._trusted(scorer)  # now called inline, without the pool's hand-off

    scorer.slow = True
    result, reason = scoring.score_submission(scorer, "bonjour", "Ali", None, timeout_s=0.1)
    assert result is None and reason == "scoring took longer than 100 ms"  # overran inline: not used
    assert not scoring._trusted(scorer)

    started = time.perf_counter()
    result, reason = scoring.score_submission(scorer, "bonjour", "Ali", None, timeout_s=0.1)
    waited = time.perf_counter() - started
    assert result is None and reason == "scoring took longer than 100 ms"
    assert waited < 0.25  # on probation the request waits for the budget only, not for the slow model
