"""team: invitations, a person's name, public ids for audit events

Team invitations (docs/api.md §11) store only a digest of their single-use link's token.
Users get an optional name (set when accepting an invitation). Audit events get a public id
(``aud_…``) so that ``GET /api/v1/audit_events`` pages with ``starting_after`` like every list;
existing rows are given one here.

Revision ID: 7c2e9a41d5f3
Revises: 7c4e2b9a1f03
Create Date: 2026-12-01 11:50:00.000000

"""
import secrets
import string

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2e9a41d5f3'
down_revision = '7c4e2b9a1f03'
branch_labels = None
depends_on = None

_BASE62 = string.digits + string.ascii_letters


def _audit_id() -> str:
    return "aud_" + "".join(secrets.choice(_BASE62) for _ in range(24))


def upgrade():
    op.create_table('team_invitations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('invited_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('accepted_user_id', sa.String(length=40), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_team_invitations_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_team_invitations')),
    sa.UniqueConstraint('id', name=op.f('uq_team_invitations_id')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_team_invitations_token_digest'))
    )
    with op.batch_alter_table('team_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_invitations_merchant_id'), ['merchant_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id', sa.String(length=40), nullable=True))
    audit = sa.table('audit_events', sa.column('pk', sa.Integer), sa.column('id', sa.String))
    connection = op.get_bind()
    for (pk,) in connection.execute(sa.select(audit.c.pk)).fetchall():
        connection.execute(audit.update().where(audit.c.pk == pk).values(id=_audit_id()))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('id', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_id'), ['id'])


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_id'), type_='unique')
        batch_op.drop_column('id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('name')

    with op.batch_alter_table('team_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_invitations_merchant_id'))

    op.drop_table('team_invitations')
