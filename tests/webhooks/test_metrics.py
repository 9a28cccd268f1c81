"""Metrics: attempts by result, delivery latency, backlog and the age of the oldest waiting event."""
from __future__ import annotations

import dataclasses
import datetime as dt

from prometheus_client import REGISTRY

from moderation.extensions import db
from moderation.webhooks import metrics
from moderation.webhooks.worker import deliver_due
from tests.webhooks.conftest import add_endpoint, make_comment
from tests.webhooks.receiver import Answer, FakeClock


def _value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_attempts_latency_and_backlog_are_measured(hook_app, site, receiver):
    answers = iter([Answer(500), Answer(200)])
    receiver.answer = lambda _request: next(answers)
    add_endpoint(hook_app, site, receiver.url())
    start = dt.datetime.now(dt.timezone.utc)
    make_comment(hook_app, site, now=start)
    clock = FakeClock(start + dt.timedelta(seconds=30))
    before = {r: _value("moderation_webhook_attempts_total", result=r) for r in ("success", "http_error")}
    observed = _value("moderation_webhook_delivery_seconds_count")
    with hook_app.app_context():
        waiting = metrics.refresh_gauges(db.session, clock())
        assert (waiting["undispatched"], waiting["deliveries"]) == (1, 0)
        assert 29 <= waiting["oldest_seconds"] <= 31
        assert _value("moderation_webhook_oldest_undelivered_seconds") == waiting["oldest_seconds"]
        settings = dataclasses.replace(hook_app.extensions["moderation.webhooks.settings"], jitter=0)
        deliver_due(db.session, settings, clock=clock)
        assert metrics.refresh_gauges(db.session, clock())["deliveries"] == 1
        clock.advance(5)
        deliver_due(db.session, settings, clock=clock)
        assert metrics.refresh_gauges(db.session, clock()) == {"undispatched": 0, "deliveries": 0, "oldest_seconds": 0.0}
    assert _value("moderation_webhook_attempts_total", result="http_error") == before["http_error"] + 1
    assert _value("moderation_webhook_attempts_total", result="success") == before["success"] + 1
    assert _value("moderation_webhook_delivery_seconds_count") == observed + 2
    assert _value("moderation_webhook_backlog", stage="deliveries") == 0
