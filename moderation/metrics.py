"""Prometheus metrics of the process (waitress is one multi-threaded process: default registry)."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMENTS_RECEIVED = Counter("moderation_comments_received_total", "Comments accepted by intake", ["status"])
COMMENTS_UNSCORED = Counter(
    "moderation_comments_unscored_total", "Comments accepted without a classifier score", ["reason"]
)
SCORING_SECONDS = Histogram(
    "moderation_scoring_seconds", "Time to score one comment",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0),
)
DECISIONS = Counter("moderation_decisions_total", "Moderators' decisions", ["action"])


class QueueCollector:
    """Backlog and oldest pending age per queue, read from the database at scrape time."""

    def __init__(self, read_backlog):
        self._read_backlog = read_backlog

    def describe(self):
        # Registration then needs no database (prometheus-client would otherwise collect once).
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily("moderation_queue_backlog", "Comments in each queue", labels=["queue"])
        yield GaugeMetricFamily("moderation_oldest_pending_age_seconds", "Age of the oldest comment waiting")

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        try:
            counts, oldest_age = self._read_backlog()
        except Exception:  # the database is away: say nothing rather than a false zero
            return
        backlog = GaugeMetricFamily("moderation_queue_backlog", "Comments in each queue", labels=["queue"])
        for queue, count in counts.items():
            backlog.add_metric([queue], count)
        yield backlog
        yield GaugeMetricFamily("moderation_oldest_pending_age_seconds", "Age of the oldest comment waiting",
                                value=oldest_age)
