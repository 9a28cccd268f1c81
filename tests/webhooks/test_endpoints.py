"""Use cases the API, CLI and console share: add, update, rotate, list, redeliver, test events."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from moderation.core.sites import create_site
from moderation.errors import FieldErrors, NotFound
from moderation.extensions import db
from moderation.webhooks import endpoints
from moderation.webhooks.models import EVENT_TYPES
from moderation.webhooks.worker import deliver_due
from tests.webhooks.conftest import add_endpoint, make_comment
from tests.webhooks.receiver import Answer, FakeClock, verify

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


def test_add_gives_a_secret_once_and_defaults_to_every_event(hook_app, site):
    endpoint, secret = add_endpoint(hook_app, site, "https://news.example/hooks")
    assert secret.startswith("whsec_") and endpoint.event_types == list(EVENT_TYPES)
    assert endpoint.active and not endpoint.include_author_email
    with hook_app.app_context():
        assert [e.id for e in endpoints.list_endpoints(db.session, site.id)] == [endpoint.id]


@pytest.mark.parametrize("url", ["ftp://news.example/", "news.example/hook", "", "http://u:p@news.example/",
                                 "https://news.example/" + "x" * 2048])
def test_add_refuses_urls_that_cannot_be_delivered_to(hook_app, site, url):
    with pytest.raises(FieldErrors) as error:
        add_endpoint(hook_app, site, url)
    assert list(error.value.errors) == ["url"]


def test_add_refuses_unknown_or_empty_event_types(hook_app, site):
    for event_types in (["comment.deleted"], []):
        with pytest.raises(FieldErrors):
            add_endpoint(hook_app, site, "https://news.example/h", event_types=event_types)


def test_a_site_never_sees_another_site_s_endpoints(hook_app, site):
    endpoint, _ = add_endpoint(hook_app, site, "https://news.example/h")
    with hook_app.app_context():
        other, _key = create_site(db.session, "Autre")
        with pytest.raises(NotFound):
            endpoints.get_endpoint(db.session, endpoint.id, other.id)
        with pytest.raises(NotFound):
            endpoints.rotate_secret(db.session, endpoint.id, site_id=other.id, now=NOW, grace=dt.timedelta(hours=1))
        assert endpoints.list_endpoints(db.session, other.id) == []
        assert endpoints.get_endpoint(db.session, endpoint.id).id == endpoint.id  # the console sees all


def test_rotate_keeps_the_old_secret_for_the_grace_period(hook_app, site):
    endpoint, old = add_endpoint(hook_app, site, "https://news.example/h")
    with hook_app.app_context():
        rotated, new = endpoints.rotate_secret(db.session, endpoint.id, site_id=site.id, now=NOW,
                                               grace=dt.timedelta(hours=24))
        assert new != old and rotated.previous_secret == old
        assert rotated.signing_secrets(NOW + dt.timedelta(hours=23)) == [new, old]
        assert rotated.signing_secrets(NOW + dt.timedelta(hours=24)) == [new]


def _deliver(app, clock):
    settings = dataclasses.replace(app.extensions["moderation.webhooks.settings"], jitter=0, schedule=(0, 1))
    with app.app_context():
        return deliver_due(db.session, settings, clock=clock)


def test_deliveries_list_what_the_console_shows(hook_app, site, receiver):
    receiver.answer = lambda _request: Answer(503, body="surchargé".encode())
    endpoint, _ = add_endpoint(hook_app, site, receiver.url())
    make_comment(hook_app, site)
    _deliver(hook_app, FakeClock(NOW))
    with hook_app.app_context():
        [delivery] = endpoints.list_deliveries(db.session, endpoint.id, site_id=site.id)
        [attempt] = endpoints.list_attempts(db.session, delivery.id, site_id=site.id)
        assert endpoints.list_deliveries(db.session, endpoint.id, status="delivered") == []
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    assert delivery.last_response_excerpt == "surchargé" and delivery.last_latency_ms >= 0
    assert (attempt.number, attempt.status_code, attempt.response_excerpt) == (1, 503, "surchargé")


def test_redeliver_failed_in_a_time_range_only(hook_app, site, receiver):
    receiver.answer = lambda _request: Answer(500)
    endpoint, _ = add_endpoint(hook_app, site, receiver.url())
    clock = FakeClock(NOW)
    early = make_comment(hook_app, site, email="e@example.org", now=NOW - dt.timedelta(hours=2))[1]
    late = make_comment(hook_app, site, email="l@example.org", now=NOW)[1]
    _deliver(hook_app, clock)
    clock.advance(2)
    _deliver(hook_app, clock)
    with hook_app.app_context():
        assert {d.status for d in endpoints.list_deliveries(db.session, endpoint.id)} == {"failed"}
        count = endpoints.redeliver_failed(db.session, endpoint.id, NOW - dt.timedelta(minutes=30),
                                           NOW + dt.timedelta(minutes=1), site_id=site.id, now=clock())
    assert count == 1
    receiver.answer = lambda _request: Answer(200)
    _deliver(hook_app, clock)
    assert receiver.ids()[-1] == late and receiver.ids().count(early) == 2 and receiver.ids().count(late) == 3
    with hook_app.app_context():
        statuses = {d.event_id: d.status for d in endpoints.list_deliveries(db.session, endpoint.id)}
    assert statuses == {early: "failed", late: "delivered"}


def test_send_test_event_reaches_that_endpoint_only(hook_app, site, receivers):
    chosen, other = receivers(), receivers()
    endpoint, secret = add_endpoint(hook_app, site, chosen.url(), event_types=["comment.approved"])
    add_endpoint(hook_app, site, other.url())
    with hook_app.app_context():
        delivery = endpoints.send_test_event(db.session, endpoint.id, site_id=site.id, now=NOW)
    _deliver(hook_app, FakeClock(NOW))
    assert other.requests == [] and chosen.ids() == [delivery.event_id]
    assert verify(chosen.requests[0], secret)["type"] == "webhook.test"
