"""sessions count the attempts started

A checkout redirect reads the session's attempts only when it has any: the session row says
how many were started, so the first redirect (none yet) needs no query for them. The row is
read under its lock, so the count is always the latest (a subquery could see an older snapshot
after waiting for the lock). Existing sessions get their count from their attempts.

Revision ID: 9a1d3c5e7b20
Revises: 3b7c0e91a4d2
Create Date: 2026-12-01 15:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a1d3c5e7b20'
down_revision = '3b7c0e91a4d2'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of payment_sessions on SQLite
# would lose its expression index on lower(customer_email).
def upgrade():
    op.add_column('payment_sessions', sa.Column('attempts_started', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE payment_sessions SET attempts_started = "
        "(SELECT count(*) FROM attempts WHERE attempts.session_id = payment_sessions.id)"
    )


def downgrade():
    op.drop_column('payment_sessions', 'attempts_started')
