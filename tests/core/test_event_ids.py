"""Webhook message ids: the documented shape, unique, and in the order the events were made."""
from __future__ import annotations

import re
import time

from moderation.core.models import new_event_id


def test_ids_keep_the_webhook_id_shape_and_are_unique():
    ids = [new_event_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"msg_[0-9a-f]{32}", event_id) for event_id in ids)
    assert len(set(ids)) == len(ids)


def test_later_events_sort_after_earlier_ones():
    # Appended to the primary key's index rather than scattered over it (bench/README.md, "Intake").
    first = [new_event_id() for _ in range(50)]
    time.sleep(0.002)
    later = [new_event_id() for _ in range(50)]
    assert max(first) < min(later)
    assert int(later[0][4:16], 16) <= time.time_ns() // 1_000_000
