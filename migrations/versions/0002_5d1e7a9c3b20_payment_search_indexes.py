"""payment search indexes

The portal's payment search and CSV export read one merchant's sessions newest first, by a
created-at range, a reference prefix (text_pattern_ops on PostgreSQL, so LIKE 'abc%' can use
the index in any collation) and a customer's e-mail compared in lower case.
(merchant_id, pk) covers what the single-column merchant_id index served.

Revision ID: 5d1e7a9c3b20
Revises: b4c156ae8cd7
Create Date: 2026-12-01 09:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1e7a9c3b20'
down_revision = 'b4c156ae8cd7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_sessions_merchant_id')
        batch_op.create_index('ix_payment_sessions_merchant_pk', ['merchant_id', 'pk'], unique=False)
        batch_op.create_index('ix_payment_sessions_merchant_created', ['merchant_id', 'created_at'], unique=False)
        batch_op.create_index(
            'ix_payment_sessions_merchant_reference',
            ['merchant_id', 'reference'],
            unique=False,
            postgresql_ops={'reference': 'text_pattern_ops'},
        )
        batch_op.create_index(
            'ix_payment_sessions_merchant_email',
            ['merchant_id', sa.text('lower(customer_email)')],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_sessions_merchant_email')
        batch_op.drop_index('ix_payment_sessions_merchant_reference')
        batch_op.drop_index('ix_payment_sessions_merchant_created')
        batch_op.drop_index('ix_payment_sessions_merchant_pk')
        batch_op.create_index('ix_payment_sessions_merchant_id', ['merchant_id'], unique=False)
