"""The committed migrations build, from empty, exactly the schema the models describe."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from kadosei.extensions import db
from kadosei.models import User
from tests.conftest import make_test_app


def _fresh_database(database_url: str, tmp_path):
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}", None
    name = f"kadosei_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), (admin, name)


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(database_url, tmp_path):
    fresh_url, cleanup = _fresh_database(database_url, tmp_path)
    try:
        app = make_test_app(fresh_url)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _user_row(conn, secret: str | None, email: str) -> None:
    """A merchant's user as the schema before 0010 stores one (plain-text TOTP secret)."""
    now = "2026-12-01 12:00:00"
    merchant = f"mer_{email.split('@')[0]}"
    conn.execute(
        text("INSERT INTO merchants (id, name, created_at) VALUES (:id, 'Shop', :now)"),
        {"id": merchant, "now": now},
    )
    conn.execute(
        text(
            "INSERT INTO users (id, merchant_id, email, password_hash, role, is_operator,"
            " session_nonce, created_at, totp_secret, totp_enabled_at)"
            " VALUES (:id, :merchant, :email, 'x', 'owner', false, 'n', :now, :secret, :now)"
        ),
        {
            "id": f"usr_{merchant}",
            "merchant": merchant,
            "email": email,
            "now": now,
            "secret": secret,
        },
    )


def _stored_secrets(conn) -> dict[str, str | None]:
    rows = conn.execute(text("SELECT email, totp_secret FROM users"))
    return dict(rows.all())


def test_upgrading_encrypts_totp_secrets_and_downgrading_decrypts_them(database_url, tmp_path):
    fresh_url, cleanup = _fresh_database(database_url, tmp_path)
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    try:
        app = make_test_app(fresh_url)
        with app.app_context():
            upgrade(revision="9a1d3c5e7b20")
            with db.engine.begin() as conn:
                _user_row(conn, secret, "ada@example.org")
                _user_row(conn, None, "bob@example.org")

            upgrade(revision="9c4e2a7f1d06")
            with db.engine.connect() as conn:
                encrypted = _stored_secrets(conn)
            # Through the model the secret reads plain again.
            user = db.session.scalar(select(User).where(User.email == "ada@example.org"))
            read_back = user.totp_secret
            db.session.remove()

            downgrade(revision="9a1d3c5e7b20")
            with db.engine.connect() as conn:
                decrypted = _stored_secrets(conn)
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    assert encrypted["bob@example.org"] is None
    assert secret not in encrypted["ada@example.org"]
    assert encrypted["ada@example.org"].startswith("gAAAAA")  # a Fernet token
    assert read_back == secret
    assert decrypted == {"ada@example.org": secret, "bob@example.org": None}
