"""`moderation webhooks ...`: add, list, rotate, redeliver, as an operator types them."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from moderation.cli import main
from moderation.extensions import db
from moderation.webhooks.models import Delivery, WebhookEndpoint
from tests.webhooks.conftest import make_comment


@pytest.fixture
def cli(hook_app, site, monkeypatch, tmp_path):
    monkeypatch.setenv("MODERATION_DATABASE_URL", hook_app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("MODERATION_INSTANCE_DIR", str(tmp_path / "cli-instance"))
    monkeypatch.setenv("MODERATION_SECRET_KEY", "cli-secret")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_add_prints_the_secret_once_and_list_never_shows_it(cli, hook_app, site):
    added = cli("webhooks", "add", "https://news.example/hooks", "--site", site.name,
                "--events", "comment.approved,comment.rejected", "--include-author-email")
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{44}", secret)
    listed = cli("webhooks", "list")
    assert listed.exit_code == 0 and "https://news.example/hooks" in listed.output
    assert "comment.approved,comment.rejected +email" in listed.output and secret not in listed.output
    with hook_app.app_context():
        endpoint = db.session.scalar(sa.select(WebhookEndpoint))
        assert endpoint.secret == secret and endpoint.include_author_email


def test_add_refuses_bad_input(cli, site):
    assert cli("webhooks", "add", "https://news.example/h", "--site", "Nobody").exit_code != 0
    bad_events = cli("webhooks", "add", "https://news.example/h", "--site", site.name, "--events", "comment.eaten")
    assert bad_events.exit_code != 0 and "event_types" in bad_events.output
    assert cli("webhooks", "add", "gopher://news.example/h", "--site", site.name).exit_code != 0


def test_rotate_prints_a_new_secret(cli, hook_app, site):
    first = cli("webhooks", "add", "https://news.example/h", "--site", site.name).stdout.strip()
    with hook_app.app_context():
        endpoint_id = db.session.scalar(sa.select(WebhookEndpoint.id))
    rotated = cli("webhooks", "rotate", str(endpoint_id), "--grace-hours", "2")
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.strip().startswith("whsec_") and rotated.stdout.strip() != first
    with hook_app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.previous_secret == first
    assert cli("webhooks", "rotate", "999").exit_code != 0


def test_redeliver_one_or_failed_in_a_range(cli, hook_app, site):
    from moderation.webhooks.dispatch import fan_out

    import datetime as dt

    cli("webhooks", "add", "https://news.example/h", "--site", site.name)
    make_comment(hook_app, site)
    with hook_app.app_context():
        fan_out(db.session, dt.datetime.now(dt.timezone.utc))
        db.session.execute(sa.update(Delivery).values(status="failed"))
        db.session.commit()
        delivery_id = db.session.scalar(sa.select(Delivery.id))
        endpoint_id = db.session.scalar(sa.select(WebhookEndpoint.id))
    ranged = cli("webhooks", "redeliver", "--endpoint", str(endpoint_id), "--since", "2000-01-01")
    assert ranged.exit_code == 0 and "1 failed deliveries queued" in ranged.output
    one = cli("webhooks", "redeliver", "--delivery", str(delivery_id))
    assert one.exit_code == 0 and f"delivery {delivery_id} queued" in one.output
    with hook_app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "pending"
    assert cli("webhooks", "redeliver").exit_code != 0
    assert cli("webhooks", "redeliver", "--endpoint", str(endpoint_id)).exit_code != 0


def test_worker_command_is_registered():
    assert "worker" in main.commands and "webhooks" in main.commands
