"""manual capture: capture_method and amount_captured on sessions, the payment's own
provider reference on attempts, wider status columns (``requires_capture``), and the
sandbox PSPs' holds (docs/api.md §4.2)

Revision ID: 7c3e9a1f4b60
Revises: 5d1e7a9c3b20
Create Date: 2026-12-01 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c3e9a1f4b60'
down_revision = '5d1e7a9c3b20'
branch_labels = None
depends_on = None


def _restore_email_index():
    """SQLite's batch mode rebuilds the table and cannot carry an expression index over."""
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute('DROP INDEX IF EXISTS ix_payment_sessions_merchant_email')
    op.create_index(
        'ix_payment_sessions_merchant_email',
        'payment_sessions',
        ['merchant_id', sa.text('lower(customer_email)')],
        unique=False,
    )


def upgrade():
    with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capture_method', sa.String(length=10), nullable=False, server_default='automatic'))
        batch_op.add_column(sa.Column('amount_captured', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=20), existing_nullable=False)
    # Sessions paid before this migration took their whole amount.
    op.execute("UPDATE payment_sessions SET amount_captured = amount WHERE status = 'succeeded'")
    with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
        batch_op.alter_column('capture_method', server_default=None)
        batch_op.alter_column('amount_captured', server_default=None)
    _restore_email_index()

    with op.batch_alter_table('session_transitions', schema=None) as batch_op:
        batch_op.alter_column('from_status', existing_type=sa.String(length=12), type_=sa.String(length=20), existing_nullable=False)
        batch_op.alter_column('to_status', existing_type=sa.String(length=12), type_=sa.String(length=20), existing_nullable=False)

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_reference', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_attempts_payment_reference'), ['payment_reference'], unique=False)

    with op.batch_alter_table('sandbox_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capture_method', sa.String(length=10), nullable=False, server_default='automatic'))
        batch_op.add_column(sa.Column('amount_captured', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('sandbox_payments', schema=None) as batch_op:
        batch_op.alter_column('capture_method', server_default=None)
        batch_op.alter_column('amount_captured', server_default=None)


def downgrade():
    with op.batch_alter_table('sandbox_payments', schema=None) as batch_op:
        batch_op.drop_column('amount_captured')
        batch_op.drop_column('capture_method')
    _restore_email_index()

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_payment_reference'))
        batch_op.drop_column('payment_reference')

    with op.batch_alter_table('session_transitions', schema=None) as batch_op:
        batch_op.alter_column('to_status', existing_type=sa.String(length=20), type_=sa.String(length=12), existing_nullable=False)
        batch_op.alter_column('from_status', existing_type=sa.String(length=20), type_=sa.String(length=12), existing_nullable=False)

    with op.batch_alter_table('payment_sessions', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=20), type_=sa.String(length=12), existing_nullable=False)
        batch_op.drop_column('amount_captured')
        batch_op.drop_column('capture_method')
    _restore_email_index()
