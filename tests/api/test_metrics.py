"""Prometheus metrics: intake, decisions, backlog and oldest pending age."""
from __future__ import annotations

import re

from tests.conftest import valid_comment


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_comments_and_show_the_backlog(client, auth):
    before = metric(client.get("/metrics").get_data(as_text=True), "moderation_comments_received_total",
                    '{status="pending"}')
    for n in range(3):
        client.post("/api/v1/comments", json=valid_comment(content=f"c{n}"), headers=auth)
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "moderation_comments_received_total", '{status="pending"}') == before + 3
    assert metric(text, "moderation_queue_backlog", '{queue="pending"}') == 3
    assert metric(text, "moderation_oldest_pending_age_seconds") >= 0
    assert "moderation_decisions_total" in text or "moderation_scoring_seconds" in text
