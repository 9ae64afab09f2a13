"""refunds, what sessions captured and refunded, the provider's payment reference

``refunds`` (docs/api.md §4.3) and the sandbox PSPs' own ``sandbox_refunds``;
``payment_sessions.amount_refunded``, and ``amount_captured`` (added by the capture migration)
filled in for sessions that had already succeeded.

Revision ID: 7e3f9a1c2b40
Revises: 7c2e9a41d5f3
Create Date: 2026-12-01 11:34:03.403171

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e3f9a1c2b40'
down_revision = '7c2e9a41d5f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sandbox_refunds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_reference', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('failure_code', sa.String(length=60), nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('completes_at', sa.DateTime(), nullable=True),
    sa.Column('notification_due_at', sa.DateTime(), nullable=True),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_sandbox_refunds')),
    sa.UniqueConstraint('id', name=op.f('uq_sandbox_refunds_id')),
    sa.UniqueConstraint('provider', 'merchant_reference', name=op.f('uq_sandbox_refunds_provider'))
    )
    with op.batch_alter_table('sandbox_refunds', schema=None) as batch_op:
        batch_op.create_index('ix_sandbox_refunds_notify', ['notified_at', 'notification_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('ix_sandbox_refunds_status_completes', ['status', 'completes_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=4), nullable=False),
    sa.Column('session_id', sa.String(length=40), nullable=False),
    sa.Column('attempt_id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('provider_refund_reference', sa.String(length=100), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=True),
    sa.Column('failure_code', sa.String(length=60), nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_refunds_application_id_applications')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_refunds_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_refunds_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['session_id'], ['payment_sessions.id'], name=op.f('fk_refunds_session_id_payment_sessions')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_refunds')),
    sa.UniqueConstraint('id', name=op.f('uq_refunds_id')),
    sa.UniqueConstraint('provider', 'provider_refund_reference', name=op.f('uq_refunds_provider'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_app_mode_pk', ['application_id', 'mode', 'pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_refunds_status_updated', ['status', 'updated_at'], unique=False)

    # Plain ADD COLUMN: a batch copy of payment_sessions on SQLite would lose its expression
    # index on lower(customer_email).
    op.add_column('payment_sessions', sa.Column('amount_refunded', sa.BigInteger(), nullable=False, server_default='0'))
    op.execute("UPDATE payment_sessions SET amount_captured = amount WHERE status = 'succeeded' AND amount_captured = 0")
    # The model sets it (default 0); the server default only filled the existing rows.
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('payment_sessions', 'amount_refunded', server_default=None)



def downgrade():
    op.drop_column('payment_sessions', 'amount_refunded')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_updated')
        batch_op.drop_index(batch_op.f('ix_refunds_session_id'))
        batch_op.drop_index('ix_refunds_app_mode_pk')

    op.drop_table('refunds')
    with op.batch_alter_table('sandbox_refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_sandbox_refunds_status_completes')
        batch_op.drop_index(batch_op.f('ix_sandbox_refunds_payment_id'))
        batch_op.drop_index('ix_sandbox_refunds_notify')

    op.drop_table('sandbox_refunds')
