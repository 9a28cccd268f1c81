"""The webhooks JSON API, as a news site uses it with its API key."""
from __future__ import annotations

import datetime as dt

from moderation.core.sites import create_site
from moderation.extensions import db
from moderation.webhooks.models import Delivery
from tests.webhooks.conftest import make_comment
from tests.webhooks.receiver import verify


def _key(app, name="Le Site"):
    with app.app_context():
        site, key = create_site(db.session, name)
    return site, {"Authorization": f"Bearer {key}"}


def test_a_site_registers_an_endpoint_and_gets_its_secret_once(hook_app, receiver):
    client = hook_app.test_client()
    site, auth = _key(hook_app)
    created = client.post("/api/v1/webhooks/endpoints", headers=auth, json={
        "url": receiver.url(), "event_types": ["comment.received", "comment.approved"], "include_author_email": True})
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["include_author_email"] is True and body["active"] is True
    listed = client.get("/api/v1/webhooks/endpoints", headers=auth)
    assert listed.status_code == 200 and "secret" not in listed.get_json()[0]
    assert body["secret"] not in listed.get_data(as_text=True)
    one = client.get(f"/api/v1/webhooks/endpoints/{body['id']}", headers=auth).get_json()
    assert one["event_types"] == ["comment.received", "comment.approved"] and "secret" not in one


def test_endpoints_of_other_sites_are_not_found(hook_app):
    client = hook_app.test_client()
    _site, mine = _key(hook_app, "Mine")
    _other, theirs = _key(hook_app, "Theirs")
    created = client.post("/api/v1/webhooks/endpoints", headers=mine, json={"url": "https://news.example/h"}).get_json()
    for method, path in (("get", ""), ("patch", ""), ("post", "/rotate-secret"), ("get", "/deliveries"),
                         ("post", "/test")):
        kwargs = {"json": {"active": False}} if method == "patch" else {}
        answer = getattr(client, method)(f"/api/v1/webhooks/endpoints/{created['id']}{path}", headers=theirs, **kwargs)
        assert answer.status_code == 404, (method, path)
        assert answer.mimetype == "application/problem+json"
    assert client.get("/api/v1/webhooks/endpoints", headers=theirs).get_json() == []


def test_authentication_and_validation_errors_are_problem_json(hook_app):
    client = hook_app.test_client()
    _site, auth = _key(hook_app)
    anonymous = client.get("/api/v1/webhooks/endpoints")
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    for payload in ({"url": "ftp://x.example/"}, {"url": "https://x.example/", "event_types": ["comment.deleted"]},
                    {}, {"url": "https://x.example/", "secret": "mine"}):
        answer = client.post("/api/v1/webhooks/endpoints", headers=auth, json=payload)
        assert answer.status_code == 422, payload
        assert answer.mimetype == "application/problem+json" and answer.get_json()["errors"]
    not_json = client.post("/api/v1/webhooks/endpoints", headers=auth, data="url=x",
                           content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415


def test_rotate_test_event_deliveries_and_redeliver(hook_app, receiver):
    from moderation.webhooks.worker import deliver_due

    client = hook_app.test_client()
    site, auth = _key(hook_app)
    created = client.post("/api/v1/webhooks/endpoints", headers=auth, json={"url": receiver.url()}).get_json()
    base = f"/api/v1/webhooks/endpoints/{created['id']}"
    rotated = client.post(f"{base}/rotate-secret", headers=auth)
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["secret"]
    assert new_secret != created["secret"] and rotated.get_json()["previous_secret_expires_at"]
    queued = client.post(f"{base}/test", headers=auth)
    assert queued.status_code == 202 and queued.get_json()["status"] == "pending"
    settings = hook_app.extensions["moderation.webhooks.settings"]
    with hook_app.app_context():
        deliver_due(db.session, settings)
    for secret in (created["secret"], new_secret):
        assert verify(receiver.requests[0], secret)["type"] == "webhook.test"
    listed = client.get(f"{base}/deliveries?status=delivered", headers=auth).get_json()
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in listed] == [("delivered", 1, 200)]
    assert client.get(f"{base}/deliveries?limit=0", headers=auth).status_code == 422
    again = client.post(f"/api/v1/webhooks/deliveries/{listed[0]['id']}/redeliver", headers=auth)
    assert again.status_code == 202 and again.get_json()["status"] == "pending"
    with hook_app.app_context():
        deliver_due(db.session, settings)
    assert receiver.ids() == [listed[0]["event_id"]] * 2


def test_redeliver_failed_range_and_reactivation(hook_app):
    client = hook_app.test_client()
    site, auth = _key(hook_app)
    created = client.post("/api/v1/webhooks/endpoints", headers=auth, json={"url": "https://news.example/h"}).get_json()
    base = f"/api/v1/webhooks/endpoints/{created['id']}"
    _comment, event_id = make_comment(hook_app, site)
    with hook_app.app_context():
        from moderation.webhooks.dispatch import fan_out

        fan_out(db.session, dt.datetime.now(dt.timezone.utc))
        db.session.execute(db.update(Delivery).values(status="failed"))
        db.session.commit()
    now = dt.datetime.now(dt.timezone.utc)
    window = {"since": (now - dt.timedelta(hours=1)).isoformat(), "until": (now + dt.timedelta(hours=1)).isoformat()}
    answer = client.post(f"{base}/redeliver-failed", headers=auth, json=window)
    assert answer.status_code == 202 and answer.get_json() == {"count": 1}
    naive = client.post(f"{base}/redeliver-failed", headers=auth, json={"since": "2026-01-01T00:00:00", "until": "x"})
    assert naive.status_code == 422
    disabled = client.patch(base, headers=auth, json={"active": False}).get_json()
    assert disabled["active"] is False
    assert client.patch(base, headers=auth, json={"active": True}).get_json()["active"] is True


def test_the_api_is_in_the_openapi_document_and_never_shows_e_mail_or_secret_in_lists(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/webhooks/endpoints", "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries",
            "/api/v1/webhooks/deliveries/{delivery_id}/redeliver"} <= set(spec["paths"])
    post = spec["paths"]["/api/v1/webhooks/endpoints"]["post"]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    delivery = spec["components"]["schemas"]["DeliveryOut"]["properties"]
    assert "body" not in delivery and "author_email" not in delivery
    assert "secret" not in spec["components"]["schemas"]["EndpointOut"]["properties"]


def test_an_error_inside_the_event_list_is_reported_on_the_list_field(hook_app):
    client = hook_app.test_client()
    _site, auth = _key(hook_app)
    answer = client.post("/api/v1/webhooks/endpoints", headers=auth,
                         json={"url": "https://x.example/", "event_types": ["comment.received", "comment.deleted"]})
    assert answer.status_code == 422
    assert [error["field"] for error in answer.get_json()["errors"]] == ["event_types"]
