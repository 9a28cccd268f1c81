"""Which events a site's webhook endpoints listen for, kept on the site for intake (Site.listened_events)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from moderation.core import outbox
from moderation.core.models import Site
from moderation.webhooks.models import WebhookEndpoint


def refresh_listened_events(session: Session, site_id: int) -> None:
    """Recompute the site's listened event types from its active endpoints, in the caller's transaction.

    Every change of an endpoint's activity or event types calls this before it commits: core.outbox
    writes an event no endpoint listens for already dispatched, so a type missing here would be an
    event never sent. On PostgreSQL, updating the site's row also orders this change before or after
    any transaction writing events, which reads the row FOR SHARE (core.outbox.listened_events)."""
    session.flush()  # the endpoint's own change must be in what is read below
    event_types: set[str] = set()
    for chosen in session.scalars(sa.select(WebhookEndpoint.event_types).where(
            WebhookEndpoint.site_id == site_id, WebhookEndpoint.active.is_(True))):
        event_types.update(chosen or ())
    session.execute(sa.update(Site).where(Site.id == site_id).values(listened_events=sorted(event_types))
                    .execution_options(synchronize_session=False))
    # Now, and again once committed: an intake writer that read the sites in between holds the old
    # list (only to decide whether to wake the relay; SQLite's trigger reads the committed one).
    outbox.note_listened_change()
    this_session = session() if isinstance(session, scoped_session) else session  # not every thread's
    sa.event.listen(this_session, "after_commit", lambda _session: outbox.note_listened_change(), once=True)
