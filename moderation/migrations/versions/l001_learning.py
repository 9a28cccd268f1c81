"""Learning: site labels, the WordPress id mapping, model versions, promotions and threshold overrides.

Revision ID: l001
Revises: c001
Create Date: 2026-11-29 03:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'l001'
down_revision = 'c001'
branch_labels = ('learning',)
depends_on = None


def upgrade():
    op.create_table('labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('head', sa.String(length=8), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('comment_id', 'head', name='uq_labels_comment_head')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index('ix_labels_head_created', ['head', 'created_at'], unique=False)
        batch_op.create_index('ix_labels_text_hash', ['head', 'text_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_labels_site_id'), ['site_id'], unique=False)

    op.create_table('wordpress_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('wp_comment_id', sa.BigInteger(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'wp_comment_id', name='uq_wordpress_site_comment')
    )
    with op.batch_alter_table('wordpress_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wordpress_comments_comment_id'), ['comment_id'], unique=False)

    op.create_table('model_versions',
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('base_version', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('label_count', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('model_promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('previous_version', sa.String(length=64), nullable=True),
    sa.Column('promoted_by', sa.String(length=200), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('rollback', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderators.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('model_promotions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_promotions_created_at'), ['created_at'], unique=False)

    op.create_table('threshold_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderators.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('head', 'name', name='uq_threshold_override')
    )


def downgrade():
    op.drop_table('threshold_overrides')
    with op.batch_alter_table('model_promotions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_promotions_created_at'))
    op.drop_table('model_promotions')
    op.drop_table('model_versions')
    with op.batch_alter_table('wordpress_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wordpress_comments_comment_id'))
    op.drop_table('wordpress_comments')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labels_site_id'))
        batch_op.drop_index('ix_labels_text_hash')
        batch_op.drop_index('ix_labels_head_created')
    op.drop_table('labels')
