"""two-factor secrets are kept encrypted

users.totp_secret held the base32 TOTP secret in plain text; it now holds a Fernet token under
KADOSEI_ENCRYPTION_KEYS (kadosei.encryption), which needs a wider column. Upgrading encrypts
the secrets already there; downgrading decrypts them again.

Revision ID: 9c4e2a7f1d06
Revises: 9a1d3c5e7b20
Create Date: 2026-12-01 15:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

from kadosei import encryption


# revision identifiers, used by Alembic.
revision = "9c4e2a7f1d06"
down_revision = "9a1d3c5e7b20"
branch_labels = None
depends_on = None

users = sa.table("users", sa.column("pk", sa.Integer), sa.column("totp_secret", sa.String))


def _rewrite(change) -> None:
    """Each stored secret through ``change`` (under the app's configured keys)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.pk, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    ).all()
    for pk, secret in rows:
        connection.execute(
            users.update().where(users.c.pk == pk).values(totp_secret=change(secret))
        )


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=True,
        )
    _rewrite(encryption.encrypt)


def downgrade():
    _rewrite(encryption.decrypt)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
