"""Admin webhook pages: endpoints, secrets shown once, deliveries, redelivery and test events."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from moderation.core.models import AuditEntry
from moderation.extensions import db
from moderation.webhooks import endpoints
from moderation.webhooks.models import Delivery, WebhookEndpoint
from moderation.webhooks.worker import deliver_due
from tests.webhooks.conftest import LOOPBACK, add_endpoint, make_comment, receivers  # noqa: F401  (fixture)
from tests.webhooks.receiver import Answer, FakeClock, verify

SECRET_RE = re.compile(r'<code class="token">(whsec_[^<]+)</code>')


@pytest.fixture
def app(make_app):
    # Loopback receivers are allowed, as in the webhook tests.
    return make_app(WEBHOOK_ALLOWED_NETWORKS=LOOPBACK, WEBHOOK_TIMEOUT_SECONDS=2, WEBHOOK_CONNECT_TIMEOUT_SECONDS=1)


@pytest.fixture
def admin(console_as):
    return console_as("admin")


def deliver(app, clock) -> int:
    settings = dataclasses.replace(app.extensions["moderation.webhooks.settings"], jitter=0, schedule=(0, 1))
    with app.app_context():
        return deliver_due(db.session, settings, clock=clock)


def deliveries(app, endpoint_id: int) -> list[Delivery]:
    with app.app_context():
        return endpoints.list_deliveries(db.session, endpoint_id)


def stored(app, endpoint_id: int) -> WebhookEndpoint:
    with app.app_context():
        return endpoints.get_endpoint(db.session, endpoint_id)


def fail_twice(app, site, receiver, *moments: dt.datetime) -> list[str]:
    """One failed delivery per moment (events created then), after the two attempts of the test schedule."""
    receiver.answer = lambda _request: Answer(500)
    event_ids = [make_comment(app, site, email=f"a{n}@example.org", now=moment)[1] for n, moment in enumerate(moments)]
    clock = FakeClock(max(moments))
    deliver(app, clock)
    clock.advance(2)
    deliver(app, clock)
    return event_ids


def test_admin_sees_the_pages_and_others_are_refused(app, console_as, site):
    endpoint, _secret = add_endpoint(app, site, "https://news.example/hooks", include_author_email=True)
    admin = console_as("admin")
    listing = admin.get("/moderate/admin/webhooks")
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert "<bdi>https://news.example/hooks</bdi>" in page and "comment.approved" in page and "incluse" in page
    assert 'href="/moderate/admin/webhooks"' in admin.get("/moderate/admin/rules").get_data(as_text=True)
    detail = admin.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries")
    assert detail.status_code == 200 and "Aucune livraison." in detail.get_data(as_text=True)
    assert admin.get("/moderate/admin/webhooks/999/deliveries").status_code == 404
    for role in ("moderator", "viewer"):
        other = console_as(role)
        assert other.get("/moderate/admin/webhooks").status_code == 403
        assert other.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries").status_code == 403
        for action in ("test", "rotate", "active", "redeliver-failed"):
            assert other.post(f"/moderate/admin/webhooks/{endpoint.id}/{action}", {"active": "0"}).status_code == 403
        assert other.post("/moderate/admin/webhooks", {"site_id": str(site.id), "url": "https://x.example/h"}
                          ).status_code == 403
    assert stored(app, endpoint.id).active and deliveries(app, endpoint.id) == []
    with app.app_context():
        assert len(endpoints.list_endpoints(db.session)) == 1


def test_forms_need_the_csrf_token(app, admin, site):
    endpoint, secret = add_endpoint(app, site, "https://news.example/hooks")
    refused = admin.client.post("/moderate/admin/webhooks", data={"site_id": str(site.id),
                                                                  "url": "https://evil.example/h"})
    assert refused.status_code == 400
    assert admin.client.post(f"/moderate/admin/webhooks/{endpoint.id}/rotate").status_code == 400
    assert admin.client.post(f"/moderate/admin/webhooks/{endpoint.id}/test",
                             data={"csrf_token": "forged"}).status_code == 400
    with app.app_context():
        assert [e.url for e in endpoints.list_endpoints(db.session)] == ["https://news.example/hooks"]
    assert stored(app, endpoint.id).secret == secret and deliveries(app, endpoint.id) == []


def test_adding_an_endpoint_shows_its_secret_once(app, admin, site):
    created = admin.post("/moderate/admin/webhooks", {
        "site_id": str(site.id), "url": "https://news.example/hooks",
        "event_types": ["comment.approved", "comment.rejected"], "include_author_email": "1"})
    assert created.status_code == 200
    shown = created.get_data(as_text=True)
    secret = SECRET_RE.search(shown).group(1)
    assert "Copiez-le maintenant" in shown and "<bdi>https://news.example/hooks</bdi>" in shown
    with app.app_context():
        [endpoint] = endpoints.list_endpoints(db.session)
    assert (endpoint.secret, endpoint.url, endpoint.event_types, endpoint.include_author_email, endpoint.site_id) \
        == (secret, "https://news.example/hooks", ["comment.approved", "comment.rejected"], True, site.id)
    assert secret not in admin.get("/moderate/admin/webhooks").get_data(as_text=True)
    refused = admin.post("/moderate/admin/webhooks", {"site_id": str(site.id), "url": "ftp://news.example/"})
    assert refused.status_code == 302
    assert "Valeur invalide pour : url." in admin.get(refused.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert len(endpoints.list_endpoints(db.session)) == 1
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-1] == "webhook.added" and actions.count("webhook.added") == 1


def test_rotating_shows_the_new_secret_once_and_the_old_one_still_signs(app, admin, site):
    endpoint, old = add_endpoint(app, site, "https://news.example/hooks")
    rotated = admin.post(f"/moderate/admin/webhooks/{endpoint.id}/rotate").get_data(as_text=True)
    new = SECRET_RE.search(rotated).group(1)
    saved = stored(app, endpoint.id)
    assert new != old and (saved.secret, saved.previous_secret) == (new, old)
    assert new not in admin.get("/moderate/admin/webhooks").get_data(as_text=True)


def test_a_disabled_endpoint_shows_why_and_is_enabled_again(app, admin, site):
    endpoint, _ = add_endpoint(app, site, "https://news.example/hooks")
    with app.app_context():
        db.session.get(WebhookEndpoint, endpoint.id).active = False
        db.session.get(WebhookEndpoint, endpoint.id).disabled_reason = "410 Gone <b>adieu</b>"
        db.session.commit()
    page = admin.get("/moderate/admin/webhooks").get_data(as_text=True)
    assert "<bdi>410 Gone &lt;b&gt;adieu&lt;/b&gt;</bdi>" in page
    admin.post(f"/moderate/admin/webhooks/{endpoint.id}/active", {"active": "1"})
    saved = stored(app, endpoint.id)
    assert saved.active and saved.disabled_reason is None


def test_the_test_event_creates_a_delivery_that_is_listed_with_its_answer_escaped(app, admin, site, receivers):
    receiver = receivers()
    receiver.answer = lambda _request: Answer(202, body=b"<script>alert(1)</script><img src=x onerror=alert(2)>")
    endpoint, secret = add_endpoint(app, site, receiver.url(), event_types=["comment.approved"])
    sent = admin.post(f"/moderate/admin/webhooks/{endpoint.id}/test")
    assert sent.headers["Location"].endswith(f"/moderate/admin/webhooks/{endpoint.id}/deliveries")
    [delivery] = deliveries(app, endpoint.id)
    assert delivery.status == "pending"
    deliver(app, FakeClock(dt.datetime.now(dt.timezone.utc)))
    assert verify(receiver.requests[0], secret)["type"] == "webhook.test"
    page = admin.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries").get_data(as_text=True)
    assert "<code>webhook.test</code>" in page and "livrée" in page and "202" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page


def test_redeliver_one_requeues_it(app, admin, site, receivers):
    receiver = receivers()
    endpoint, _ = add_endpoint(app, site, receiver.url())
    fail_twice(app, site, receiver, dt.datetime.now(dt.timezone.utc))
    [failed] = deliveries(app, endpoint.id)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 2, 500)
    page = admin.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries?status=failed").get_data(as_text=True)
    assert f"/moderate/admin/webhooks/deliveries/{failed.id}/redeliver" in page and "échouée" in page
    done = admin.post(f"/moderate/admin/webhooks/deliveries/{failed.id}/redeliver")
    assert done.headers["Location"].endswith(f"/moderate/admin/webhooks/{endpoint.id}/deliveries")
    [requeued] = deliveries(app, endpoint.id)
    assert (requeued.status, requeued.attempts, requeued.event_id) == ("pending", 0, failed.event_id)
    assert admin.post("/moderate/admin/webhooks/deliveries/999/redeliver").status_code == 404


def test_redeliver_failed_in_a_time_range_only(app, admin, site, receivers):
    receiver = receivers()
    endpoint, _ = add_endpoint(app, site, receiver.url())
    late = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
    early_id, late_id = fail_twice(app, site, receiver, late - dt.timedelta(hours=2), late)
    assert {d.status for d in deliveries(app, endpoint.id)} == {"failed"}
    form = {"since": (late - dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
            "until": (late + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")}
    done = admin.post(f"/moderate/admin/webhooks/{endpoint.id}/redeliver-failed", form)
    assert "1 livraison en échec remise" in admin.get(done.headers["Location"]).get_data(as_text=True)
    states = {d.event_id: (d.status, d.attempts) for d in deliveries(app, endpoint.id)}
    assert states == {early_id: ("failed", 2), late_id: ("pending", 0)}
    backwards = admin.post(f"/moderate/admin/webhooks/{endpoint.id}/redeliver-failed",
                           {"since": form["until"], "until": form["since"]})
    assert "le début avant la fin" in admin.get(backwards.headers["Location"]).get_data(as_text=True)


def test_deliveries_are_filtered_by_status_and_paged(app, admin, site, monkeypatch):
    from moderation.ui import webhooks as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    endpoint, _ = add_endpoint(app, site, "https://news.example/hooks")
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        made = [endpoints.send_test_event(db.session, endpoint.id, now=now).id for _ in range(3)]
        db.session.get(Delivery, made[0]).status = "failed"
        db.session.commit()
    first = admin.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r"<td>(\d+)</td>", first)]
    assert shown == [made[2], made[1]] and f"before={made[1]}" in first
    older = admin.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries?before={made[1]}").get_data(as_text=True)
    assert [int(n) for n in re.findall(r"<td>(\d+)</td>", older)] == [made[0]] and "before=" not in older
    failed = admin.get(f"/moderate/admin/webhooks/{endpoint.id}/deliveries?status=failed").get_data(as_text=True)
    assert [int(n) for n in re.findall(r"<td>(\d+)</td>", failed)] == [made[0]]
