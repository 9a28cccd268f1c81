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
