"""Fewer index entries per new comment: one index of authors instead of two, partial indexes for reports and moderators.

Each index entry is one more B-tree insert, and one more page written at every intake commit.
- ix_comments_flood_email (site, e-mail, time) and ix_comments_author_email (e-mail) become one,
  ix_comments_author (e-mail, site, time): the flood check, an author's history on a site and the
  console's e-mail filter across sites all start from the e-mail. The e-mail-only index took each
  new comment on a page of its own.
- A new comment is never reported and its first decision has no moderator, so partial indexes
  (WHERE ... IS NOT NULL) serve the same look-ups (the reported queue, the moderators' statistics)
  without an entry per comment.

Revision ID: i001
Revises: l001, w001
Create Date: 2026-12-05 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i001'
down_revision = ('l001', 'w001')
branch_labels = None
depends_on = None


def _partial(column: str) -> dict:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_author', ['author_email', 'site_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_comments_flood_email')
        batch_op.drop_index('ix_comments_author_email')
        batch_op.drop_index('ix_comments_reported_at')
        batch_op.create_index('ix_comments_reported_at', ['reported_at'], unique=False, **_partial('reported_at'))

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_moderator_id')
        batch_op.create_index('ix_decisions_moderator_id', ['moderator_id'], unique=False, **_partial('moderator_id'))


def downgrade():
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_moderator_id')
        batch_op.create_index('ix_decisions_moderator_id', ['moderator_id'], unique=False)

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_reported_at')
        batch_op.create_index('ix_comments_reported_at', ['reported_at'], unique=False)
        batch_op.create_index('ix_comments_author_email', ['author_email'], unique=False)
        batch_op.create_index('ix_comments_flood_email', ['site_id', 'author_email', 'created_at'], unique=False)
        batch_op.drop_index('ix_comments_author')
