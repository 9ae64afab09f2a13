"""retry after a declined attempt

A declined attempt leaves its session open while attempts are left (docs/api.md §5): the
session keeps how many declined attempts it allows and has had, and the last decline; an
attempt keeps whether its decline is one another provider may not share (the retry passes
that provider over). Sessions that exist already get the default of 3 attempts.

Revision ID: 7c4e2a91d0f3
Revises: 7c3e9a1f4b60
Create Date: 2026-12-01 11:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c4e2a91d0f3'
down_revision = '7c3e9a1f4b60'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of payment_sessions on SQLite
# would lose its expression index on lower(customer_email).
def upgrade():
    op.add_column('payment_sessions', sa.Column('max_attempts', sa.Integer(), server_default='3', nullable=False))
    op.add_column('payment_sessions', sa.Column('attempts_failed', sa.Integer(), server_default='0', nullable=False))
    op.add_column('payment_sessions', sa.Column('last_failure_code', sa.String(length=60), nullable=True))
    op.add_column('payment_sessions', sa.Column('last_failure_message', sa.String(length=500), nullable=True))
    op.add_column('payment_sessions', sa.Column('last_failure_attempt', sa.String(length=40), nullable=True))
    op.add_column('attempts', sa.Column('retry_elsewhere', sa.Boolean(), nullable=True))


def downgrade():
    op.drop_column('attempts', 'retry_elsewhere')
    op.drop_column('payment_sessions', 'last_failure_attempt')
    op.drop_column('payment_sessions', 'last_failure_message')
    op.drop_column('payment_sessions', 'last_failure_code')
    op.drop_column('payment_sessions', 'attempts_failed')
    op.drop_column('payment_sessions', 'max_attempts')
