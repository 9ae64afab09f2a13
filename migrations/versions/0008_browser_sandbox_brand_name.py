"""sandbox payments carry the merchant's brand name

The sandbox providers' hosted page shows whom the customer pays, as a real PSP's does: kadosei
passes the shop's name with each checkout (PayPal calls it brand_name).

Revision ID: 3b7c0e91a4d2
Revises: 7e3f9a1c2b40
Create Date: 2026-12-01 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7c0e91a4d2'
down_revision = '7e3f9a1c2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sandbox_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('brand_name', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('sandbox_payments', schema=None) as batch_op:
        batch_op.drop_column('brand_name')
