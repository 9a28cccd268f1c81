"""Backoff: the Standard Webhooks/Svix schedule with jitter, Retry-After, 410, and giving up."""
from __future__ import annotations

import datetime as dt
import email.utils
import random

import pytest

from moderation.webhooks.schedule import MAX_RETRY_AFTER, after_attempt, parse_retry_after
from moderation.webhooks.settings import DEFAULT_SCHEDULE, parse_schedule

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
SCHEDULE = parse_schedule(DEFAULT_SCHEDULE)


def test_default_schedule_is_the_issue_s_eight_attempts():
    # These steps add up to about 27.6 hours, not the "about three days" the issue's text says.
    assert SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert 27 * 3600 < sum(SCHEDULE) < 28 * 3600


@pytest.mark.parametrize("attempts", range(1, 8))
def test_each_retry_waits_its_step_within_ten_percent(attempts):
    rng = random.Random(attempts)
    for _ in range(50):
        verdict = after_attempt(attempts, 500, None, NOW, SCHEDULE, 0.1, rng)
        assert verdict.status == "pending"
        wait = (verdict.next_attempt_at - NOW).total_seconds()
        assert SCHEDULE[attempts] * 0.9 <= wait <= SCHEDULE[attempts] * 1.1


def test_jitter_spreads_retries():
    waits = {after_attempt(3, None, None, NOW, SCHEDULE, 0.1).next_attempt_at for _ in range(20)}
    assert len(waits) > 1


def test_after_the_last_attempt_the_delivery_fails():
    assert after_attempt(8, 500, None, NOW, SCHEDULE, 0.1).status == "failed"
    assert after_attempt(2, None, None, NOW, (0, 5), 0.1).status == "failed"


def test_2xx_delivers_and_3xx_is_a_failure():
    assert after_attempt(1, 204, None, NOW, SCHEDULE, 0.1).status == "delivered"
    assert after_attempt(1, 302, None, NOW, SCHEDULE, 0.1).status == "pending"


def test_410_fails_and_disables_the_endpoint():
    verdict = after_attempt(1, 410, None, NOW, SCHEDULE, 0.1)
    assert (verdict.status, verdict.disable_endpoint) == ("failed", True)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_on_throttling(status):
    verdict = after_attempt(1, status, "120", NOW, SCHEDULE, 0.1)
    assert verdict.next_attempt_at == NOW + dt.timedelta(seconds=120)
    http_date = email.utils.format_datetime(NOW + dt.timedelta(minutes=10), usegmt=True)
    assert after_attempt(1, status, http_date, NOW, SCHEDULE, 0.1).next_attempt_at == NOW + dt.timedelta(minutes=10)


def test_retry_after_is_ignored_elsewhere_and_bounded():
    assert (after_attempt(1, 500, "120", NOW, SCHEDULE, 0).next_attempt_at - NOW).total_seconds() == 5
    assert parse_retry_after("99999999", NOW) == MAX_RETRY_AFTER
    assert parse_retry_after("soon", NOW) is None


def test_schedule_setting_is_validated():
    assert parse_schedule("0, 1,2") == (0, 1, 2)
    with pytest.raises(ValueError):
        parse_schedule("")
    with pytest.raises(ValueError):
        parse_schedule("5,-1")
