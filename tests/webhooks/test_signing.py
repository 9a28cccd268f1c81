"""Our signatures are exactly the Standard Webhooks ones: the reference verifier accepts and rejects them."""
from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given, settings, strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from moderation.webhooks import signing


def test_secret_is_whsec_and_32_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.generate_secret() != secret


def test_reference_verifier_accepts_our_headers():
    secret, body = signing.generate_secret(), b'{"type":"comment.approved","data":{"comment":{"id":1}}}'
    headers = signing.headers("msg_1", int(time.time()), body, [secret])
    assert Webhook(secret).verify(body, headers) == {"type": "comment.approved", "data": {"comment": {"id": 1}}}
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("tamper", ["body", "secret", "old timestamp", "future timestamp", "id"])
def test_reference_verifier_rejects_tampering(tamper):
    secret, body, now = signing.generate_secret(), b'{"a":1}', int(time.time())
    timestamp = {"old timestamp": now - 6 * 60, "future timestamp": now + 6 * 60}.get(tamper, now)
    headers = signing.headers("msg_1", timestamp, body, [secret])
    verifier_secret = signing.generate_secret() if tamper == "secret" else secret
    if tamper == "body":
        body = b'{"a":2}'
    if tamper == "id":
        headers["webhook-id"] = "msg_2"
    with pytest.raises(WebhookVerificationError):
        Webhook(verifier_secret).verify(body, headers)


def test_during_rotation_both_secrets_sign_and_either_verifies():
    old, new, body = signing.generate_secret(), signing.generate_secret(), b"{}"
    headers = signing.headers("msg_1", int(time.time()), body, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_any_unicode_body_round_trips(text):
    import json

    secret = signing.generate_secret()
    body = json.dumps({"content": text}, ensure_ascii=False).encode("utf-8")
    headers = signing.headers("msg_x", int(time.time()), body, [secret])
    assert Webhook(secret).verify(body, headers) == {"content": text}
