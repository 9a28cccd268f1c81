"""End to end against a real receiver on loopback, driven synchronously with a fake scheduling clock."""
from __future__ import annotations

import dataclasses
import json
import socket

import sqlalchemy as sa

from moderation.core.models import Site
from moderation.extensions import db
from moderation.webhooks import endpoints
from moderation.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from moderation.webhooks.worker import deliver_due
from tests.webhooks.conftest import add_endpoint, make_comment, record_event
from tests.webhooks.receiver import Answer, FakeClock, verify


def run(app, clock, **options) -> int:
    settings = dataclasses.replace(app.extensions["moderation.webhooks.settings"], jitter=0,
                                   **options.pop("settings", {}))
    with app.app_context():
        return deliver_due(db.session, settings, clock=clock, **options)


def deliveries(app) -> list[Delivery]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        return rows


def attempts(app, delivery_id: int) -> list[DeliveryAttempt]:
    with app.app_context():
        return endpoints.list_attempts(db.session, delivery_id)


def test_a_committed_event_reaches_the_receiver_signed_per_the_standard(hook_app, site, receiver):
    endpoint, secret = add_endpoint(hook_app, site, receiver.url())
    comment_id, event_id = make_comment(hook_app, site)
    assert run(hook_app, FakeClock()) == 1
    [request] = receiver.requests
    payload = verify(request, secret)
    assert request.msg_id == event_id and request.path == "/hook"
    assert payload["type"] == "comment.received"
    assert set(payload) == {"type", "timestamp", "data"} and payload["timestamp"].endswith("Z")
    comment = payload["data"]["comment"]
    assert comment["id"] == comment_id and comment["version"] == 1 and comment["status"] == "pending"
    assert comment["author_name"] == "Amina" and "author_email" not in comment
    [delivery] = deliveries(hook_app)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.last_response_excerpt == "ok" and delivery.last_latency_ms is not None
    assert run(hook_app, FakeClock()) == 0  # delivered means never sent again


def test_receiver_down_then_back_gets_every_event_with_the_same_ids(hook_app, site, receivers):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there: the receiver is down
    endpoint, secret = add_endpoint(hook_app, site, f"http://127.0.0.1:{port}/hook")
    clock = FakeClock()
    event_ids = {make_comment(hook_app, site, email=f"r{i}@example.org", now=clock())[1] for i in range(5)}
    assert run(hook_app, clock) == 5
    assert {d.status for d in deliveries(hook_app)} == {"pending"}
    assert all("connection_error" in d.last_error for d in deliveries(hook_app))
    clock.advance(4)
    assert run(hook_app, clock) == 0  # the second attempt waits 5 s
    clock.advance(1)
    assert run(hook_app, clock) == 5
    receiver = receivers(port)  # back up on the same address
    clock.advance(299)
    assert run(hook_app, clock) == 0
    clock.advance(1)
    assert run(hook_app, clock) == 5
    assert set(receiver.ids()) == event_ids and len(receiver.requests) == 5
    for request in receiver.requests:
        verify(request, secret)
    assert {(d.status, d.attempts) for d in deliveries(hook_app)} == {("delivered", 3)}
    assert [a.error is None for a in attempts(hook_app, deliveries(hook_app)[0].id)] == [False, False, True]


def test_failures_retry_with_the_same_webhook_id_until_success(hook_app, site, receiver):
    answers = iter([Answer(500), Answer(502), Answer(429, {"Retry-After": "120"}), Answer(200)])
    receiver.answer = lambda _request: next(answers)
    endpoint, secret = add_endpoint(hook_app, site, receiver.url())
    _comment, event_id = make_comment(hook_app, site)
    clock = FakeClock()
    run(hook_app, clock)
    clock.advance(5)
    run(hook_app, clock)
    clock.advance(300)
    run(hook_app, clock)  # answered 429 Retry-After: 120, although the schedule says 30 min
    [delivery] = deliveries(hook_app)
    assert (delivery.next_attempt_at - clock()).total_seconds() == 120
    clock.advance(120)
    run(hook_app, clock)
    assert receiver.ids() == [event_id] * 4
    for request in receiver.requests:
        verify(request, secret)  # a fresh, valid signature on every attempt
    [delivery] = deliveries(hook_app)
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    assert [a.status_code for a in attempts(hook_app, delivery.id)] == [500, 502, 429, 200]


def test_slow_receiver_times_out_and_is_retried(hook_app, site, receiver):
    answers = iter([Answer(200, delay=1.5), Answer(200)])
    receiver.answer = lambda _request: next(answers)
    add_endpoint(hook_app, site, receiver.url())
    make_comment(hook_app, site)
    clock = FakeClock()
    run(hook_app, clock, settings={"timeout": 0.5})
    [delivery] = deliveries(hook_app)
    assert delivery.status == "pending" and delivery.last_error.startswith("timeout")
    assert delivery.last_latency_ms < 1400
    clock.advance(5)
    run(hook_app, clock, settings={"timeout": 0.5})
    assert [(d.status, d.attempts) for d in deliveries(hook_app)] == [("delivered", 2)]
    assert len(receiver.requests) == 2


def test_a_redirect_is_not_followed(hook_app, site, receivers):
    target, redirector = receivers(), receivers()
    redirector.answer = lambda _request: Answer(302, {"Location": target.url("/elsewhere")})
    add_endpoint(hook_app, site, redirector.url())
    make_comment(hook_app, site)
    run(hook_app, FakeClock())
    [delivery] = deliveries(hook_app)
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert len(redirector.requests) == 1 and target.requests == []


def test_410_disables_the_endpoint_and_parks_its_deliveries(hook_app, site, receiver):
    receiver.answer = lambda _request: Answer(410, body=b"gone")
    endpoint, _secret = add_endpoint(hook_app, site, receiver.url())
    make_comment(hook_app, site)
    clock = FakeClock()
    run(hook_app, clock)
    with hook_app.app_context():
        disabled = endpoints.get_endpoint(db.session, endpoint.id)
    assert not disabled.active and disabled.disabled_reason.startswith("410")
    with hook_app.app_context():
        assert db.session.get(Site, site.id).listened_events == []  # its site listens for nothing any more
    make_comment(hook_app, site, email="other@example.org")
    clock.advance(3600)
    assert run(hook_app, clock) == 0
    assert len(receiver.requests) == 1
    assert [d.status for d in deliveries(hook_app)] == ["failed"]  # nothing queued for a disabled endpoint
    receiver.answer = lambda _request: Answer(200)
    with hook_app.app_context():
        endpoints.update_endpoint(db.session, endpoint.id, site_id=site.id, now=clock(), active=True)
    assert run(hook_app, clock) == 0  # re-enabling does not replay by itself...
    with hook_app.app_context():
        assert endpoints.redeliver(db.session, deliveries(hook_app)[0].id, now=clock()).status == "pending"
    assert run(hook_app, clock) == 1  # ...a redelivery does
    assert len(receiver.requests) == 2


def test_private_address_is_refused_unless_allowed(make_app, receiver):
    from moderation.core.sites import create_site

    strict = make_app()  # no MODERATION_WEBHOOK_ALLOWED_NETWORKS
    with strict.app_context():
        site, _key = create_site(db.session, "Strict")
    add_endpoint(strict, site, receiver.url())
    make_comment(strict, site)
    run(strict, FakeClock())
    [delivery] = deliveries(strict)
    assert delivery.status == "pending" and delivery.last_error.startswith("refused")
    assert receiver.requests == []
    allowing = make_app(WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/8, 127.0.0.0/8")
    clock = FakeClock()
    clock.advance(5)
    run(allowing, clock)
    assert len(receiver.requests) == 1 and deliveries(allowing)[0].status == "delivered"


def test_the_resolved_address_is_the_one_connected_to_with_the_name_as_host(hook_app, site, receiver):
    # A stub DNS answers a public address, then a private one. The fake connector lets no traffic leave
    # loopback: it records the address it was asked for and connects to the local receiver instead.
    answers = iter([["93.184.215.14"], ["10.0.0.7"]])
    resolved, connected = [], []

    def resolver(host, port):
        resolved.append(host)
        return next(answers)

    def connector(address, timeout):
        connected.append(address)
        return socket.create_connection(("127.0.0.1", receiver.port), timeout=timeout)

    add_endpoint(hook_app, site, f"http://hooks.example:{receiver.port}/in")
    make_comment(hook_app, site)
    clock = FakeClock()
    receiver.answer = lambda _request: Answer(500)
    run(hook_app, clock, resolver=resolver, connector=connector)
    assert resolved == ["hooks.example"] and connected == [("93.184.215.14", receiver.port)]
    assert receiver.requests[0].headers["host"] == f"hooks.example:{receiver.port}"
    clock.advance(5)
    run(hook_app, clock, resolver=resolver, connector=connector)  # now private: refused, nothing sent
    assert connected == [("93.184.215.14", receiver.port)] and len(receiver.requests) == 1
    assert deliveries(hook_app)[0].last_error.startswith("refused")


def test_author_email_only_for_endpoints_marked_to_receive_it(hook_app, site, receivers):
    plain, trusted = receivers(), receivers()
    add_endpoint(hook_app, site, plain.url())
    add_endpoint(hook_app, site, trusted.url(), include_author_email=True)
    parent_id, _ = make_comment(hook_app, site, email="parent@example.org")
    reply_id, _ = make_comment(hook_app, site, email="reply@example.org", parent_id=parent_id)
    record_event(hook_app, reply_id, "comment.reply_published")
    run(hook_app, FakeClock())
    assert len(plain.requests) == len(trusted.requests) == 3
    assert all(b"@example.org" not in request.body for request in plain.requests)
    bodies = {(json.loads(r.body)["type"], json.loads(r.body)["data"]["comment"]["author_email"]): json.loads(r.body)
              for r in trusted.requests}
    assert set(bodies) == {("comment.received", "parent@example.org"), ("comment.received", "reply@example.org"),
                           ("comment.reply_published", "reply@example.org")}
    reply = bodies["comment.reply_published", "reply@example.org"]
    assert reply["data"]["parent"]["author_email"] == "parent@example.org"


def test_endpoints_get_only_the_event_types_they_chose(hook_app, site, receiver):
    add_endpoint(hook_app, site, receiver.url(), event_types=["comment.rejected"])
    comment_id, _ = make_comment(hook_app, site)
    rejected = record_event(hook_app, comment_id, "comment.rejected", reason_code="off_topic",
                            note="Hors sujet", reason_text="Votre commentaire est hors sujet.")
    run(hook_app, FakeClock())
    assert receiver.ids() == [rejected]
    data = json.loads(receiver.requests[0].body)["data"]
    assert (data["reason_code"], data["reason_text"]) == ("off_topic", "Votre commentaire est hors sujet.")


def test_rotation_signs_with_both_secrets_during_the_grace_period_only(hook_app, site, receiver):
    import datetime as dt

    endpoint, old = add_endpoint(hook_app, site, receiver.url())
    clock = FakeClock()
    with hook_app.app_context():
        _endpoint, new = endpoints.rotate_secret(db.session, endpoint.id, site_id=site.id, now=clock(),
                                                 grace=dt.timedelta(hours=24))
    make_comment(hook_app, site, email="a@example.org", now=clock())
    run(hook_app, clock)
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split()) == 2
    verify(during, old) and verify(during, new)
    clock.advance(24 * 3600 + 1)
    make_comment(hook_app, site, email="b@example.org", now=clock())
    run(hook_app, clock)
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split()) == 1
    verify(after, new)
    import pytest
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        verify(after, old)


def test_response_body_excerpt_is_at_most_4_kib(hook_app, site, receiver):
    receiver.answer = lambda _request: Answer(500, body=b"x" * 100_000)
    add_endpoint(hook_app, site, receiver.url())
    make_comment(hook_app, site)
    run(hook_app, FakeClock())
    [delivery] = deliveries(hook_app)
    assert len(delivery.last_response_excerpt) == 4096 and delivery.last_status_code == 500


def test_after_the_last_attempt_the_delivery_is_failed_and_redeliverable(hook_app, site, receiver):
    receiver.answer = lambda _request: Answer(500)
    add_endpoint(hook_app, site, receiver.url())
    make_comment(hook_app, site)
    clock = FakeClock()
    for _ in range(3):
        run(hook_app, clock, settings={"schedule": (0, 10, 10)})
        clock.advance(11)
    [delivery] = deliveries(hook_app)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    receiver.answer = lambda _request: Answer(204, body=b"")
    with hook_app.app_context():
        endpoints.redeliver(db.session, delivery.id, now=clock())
    run(hook_app, clock)
    assert deliveries(hook_app)[0].status == "delivered"
    assert len({request.msg_id for request in receiver.requests}) == 1 and len(receiver.requests) == 4


def _tls_receiver(receivers, name: str):
    import ssl

    import trustme

    authority = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(name).configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    return receivers(tls=server_context), client_context


def test_https_goes_to_the_pinned_address_with_the_name_as_sni_and_checked_certificate(hook_app, site, receivers):
    receiver, trusted = _tls_receiver(receivers, "hooks.example")
    endpoint, secret = add_endpoint(hook_app, site, f"https://hooks.example:{receiver.port}/in")
    make_comment(hook_app, site)
    resolved = []

    def resolver(host, port):
        resolved.append(host)
        return ["127.0.0.1"]

    run(hook_app, FakeClock(), resolver=resolver, tls_context=trusted)
    assert resolved == ["hooks.example"] and receiver.server_names == ["hooks.example"]
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example:{receiver.port}"
    verify(request, secret)
    assert deliveries(hook_app)[0].status == "delivered"


def test_https_with_a_certificate_for_another_name_is_refused(hook_app, site, receivers):
    receiver, trusted = _tls_receiver(receivers, "someone-else.example")
    add_endpoint(hook_app, site, f"https://hooks.example:{receiver.port}/in")
    make_comment(hook_app, site)
    run(hook_app, FakeClock(), resolver=lambda host, port: ["127.0.0.1"], tls_context=trusted)
    [delivery] = deliveries(hook_app)
    assert delivery.status == "pending" and delivery.last_error.startswith("tls_error")
    assert receiver.requests == []
