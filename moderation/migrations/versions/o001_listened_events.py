"""Events nobody listens for are written already dispatched: sites.listened_events, and a partial index of the events waiting.

- sites.listened_events: the event types some active webhook endpoint of the site wants (kept by
  the webhooks package). Filled here from the endpoints that exist.
- ix_outbox_events_dispatched_at (every event, NULL first) becomes ix_outbox_events_undispatched:
  the creation time of the events still waiting for the relay, the order it takes them in. An
  event written dispatched leaves no entry, and one the relay handles leaves its entry instead of
  moving it.
- ix_outbox_events_site_id and ix_outbox_events_comment_id go: no query looks events up by site
  or comment, and neither is ever deleted.

Revision ID: o001
Revises: i001
Create Date: 2026-12-05 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'o001'
down_revision = 'i001'
branch_labels = None
depends_on = None

_WAITING = sa.text("dispatched_at IS NULL")


def upgrade():
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listened_events', sa.JSON(), server_default='[]', nullable=False))

    connection = op.get_bind()
    endpoints = sa.table('webhook_endpoints', sa.column('site_id', sa.Integer), sa.column('event_types', sa.JSON),
                         sa.column('active', sa.Boolean))
    sites = sa.table('sites', sa.column('id', sa.Integer), sa.column('listened_events', sa.JSON))
    listened: dict[int, set[str]] = {}
    for site_id, event_types in connection.execute(
            sa.select(endpoints.c.site_id, endpoints.c.event_types).where(endpoints.c.active.is_(True))):
        listened.setdefault(site_id, set()).update(event_types or ())
    for site_id, event_types in listened.items():
        connection.execute(sa.update(sites).where(sites.c.id == site_id).values(listened_events=sorted(event_types)))

    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_dispatched_at')
        batch_op.create_index('ix_outbox_events_undispatched', ['created_at'], unique=False,
                              sqlite_where=_WAITING, postgresql_where=_WAITING)
        batch_op.drop_index('ix_outbox_events_site_id')
        batch_op.drop_index('ix_outbox_events_comment_id')


def downgrade():
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_events_comment_id', ['comment_id'], unique=False)
        batch_op.create_index('ix_outbox_events_site_id', ['site_id'], unique=False)
        batch_op.drop_index('ix_outbox_events_undispatched')
        batch_op.create_index('ix_outbox_events_dispatched_at', ['dispatched_at'], unique=False)

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('listened_events')
