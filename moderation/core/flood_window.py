"""The flood check's look-up (recent comments of a batch's authors) and its window over them."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa

from moderation.core.driver_statements import DriverSelects
from moderation.core.models import Comment, Site
from moderation.errors import FloodDetected

if TYPE_CHECKING:
    from moderation.core.submissions import Submission

_COLUMNS = Comment.__table__.c


def recent_authors(sites: int, emails: int, ips: int, last_id: bool = False) -> sa.Select | sa.CompoundSelect:
    """Every comment within the flood window of the batch's authors (when `emails`): by e-mail, then
    by IP, each on its own index ((e-mail, site, time) and (site, IP, time)). One query with "e-mail
    IN … OR IP IN …" made SQLite scan the whole site (0.45 ms at 3,000 comments, growing with the table).
    With `last_id`, also a row of the largest comment id and one row per site with the event types
    its webhook endpoints listen for (outbox.listened_events), told apart by their NULL e-mail (never
    NULL in a comment): (largest id, NULL, NULL, NULL) and (site id, NULL, JSON list, NULL).
    sqlite_intake draws the batch's new ids from them, in the same statement.

    One plain parameter per value, so each shape of batch is compiled once (DriverSelects)."""
    recent = [_COLUMNS.site_id, _COLUMNS.author_email, _COLUMNS.author_ip, _COLUMNS.created_at]
    since = sa.bindparam("since", type_=_COLUMNS.created_at.type)
    site_ids = [sa.bindparam(f"site{i}", type_=_COLUMNS.site_id.type) for i in range(sites)]
    branches = []
    if sites and emails:
        branches.append(sa.select(*recent).where(
            _COLUMNS.site_id.in_(site_ids), _COLUMNS.created_at > since,
            _COLUMNS.author_email.in_([sa.bindparam(f"email{i}", type_=_COLUMNS.author_email.type)
                                       for i in range(emails)])))
    if sites and emails and ips:
        branches.append(sa.select(*recent).where(
            _COLUMNS.site_id.in_(site_ids), _COLUMNS.created_at > since,
            _COLUMNS.author_ip.in_([sa.bindparam(f"ip{i}", type_=_COLUMNS.author_ip.type) for i in range(ips)])))
    if last_id:
        branches.append(sa.select(sa.func.max(_COLUMNS.id), sa.null(), sa.null(), sa.null()))
        if sites:
            listening = Site.__table__.c
            branches.append(sa.select(listening.id, sa.null(), sa.cast(listening.listened_events, sa.Text), sa.null())
                            .where(listening.id.in_(site_ids)))
    return branches[0] if len(branches) == 1 else sa.union_all(*branches)


_RECENT_AUTHORS = DriverSelects(recent_authors)


class FloodWindow:
    """Recent comments of the batch's authors; later submissions of the batch see earlier ones."""

    def __init__(self, interval: dt.timedelta, rows: list[tuple]) -> None:
        self.interval = interval
        self.recent: list[tuple[int, str, str | None, dt.datetime]] = []
        for site_id, email, ip, created_at in rows:
            if created_at.tzinfo is None:  # some drivers hand back naive UTC
                created_at = created_at.replace(tzinfo=dt.timezone.utc)
            self.recent.append((site_id, email, ip, created_at))

    @staticmethod
    def query(connection, batch: list[Submission], interval: dt.timedelta, last_id: bool = False):
        """The SELECT of the batch's authors' recent comments (and with `last_id` the largest comment
        id and the sites' listened events, see recent_authors) and its values; None when nothing is
        to be read."""
        flood = interval.total_seconds() > 0
        if not (flood and batch) and not last_id:
            return None
        sites = sorted({s.site.id for s in batch})
        emails = sorted({s.data["author_email"] for s in batch}) if flood else []
        ips = sorted({s.data["author_ip"] for s in batch if s.data.get("author_ip")}) if flood else []
        values = {"since": min(s.now for s in batch) - interval} if emails else {}
        for name, found in (("site", sites), ("email", emails), ("ip", ips)):
            values.update((f"{name}{i}", value) for i, value in enumerate(found))
        return _RECENT_AUTHORS(connection, len(sites), len(emails), len(ips), last_id), values

    def check(self, submission: Submission) -> None:
        if self.interval.total_seconds() <= 0:
            return
        site_id, email, ip = submission.site.id, submission.data["author_email"], submission.data.get("author_ip")
        since = submission.now - self.interval
        latest = max((at for s, e, i, at in self.recent
                      if s == site_id and at > since and (e == email or (ip and i == ip))), default=None)
        if latest is not None:
            wait = max(1, int((latest + self.interval - submission.now).total_seconds() + 0.999))
            raise FloodDetected(retry_after=wait)

    def note(self, submission: Submission) -> None:
        data = submission.data
        self.recent.append((submission.site.id, data["author_email"], data.get("author_ip"), submission.now))
