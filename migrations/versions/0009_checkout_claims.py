"""sessions count their checkout claims

A checkout redirect reads the session's attempts only when it may have any: the session row
counts the times a checkout claimed it (in the UPDATE that takes its lock, so at no extra cost),
and a session never claimed has no attempt — the first redirect needs no query for them. The
count is read in that UPDATE's RETURNING, so it is the latest even after a lock wait (a subquery
could see an older snapshot). Existing sessions start from their number of attempts.

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
    op.add_column('payment_sessions', sa.Column('checkout_claims', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE payment_sessions SET checkout_claims = "
        "(SELECT count(*) FROM attempts WHERE attempts.session_id = payment_sessions.id)"
    )


def downgrade():
    op.drop_column('payment_sessions', 'checkout_claims')
