"""Settings (docs/api.md §9) and the operator's create-merchant command."""

from __future__ import annotations

import ast
import re

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from sqlalchemy import select

from kadosei.config import (
    BASE_DIR,
    DECLARED,
    LOCAL_PUBLIC_URL,
    SETTINGS,
    ConfigError,
    load_config,
    normalize_database_url,
)
from kadosei.models import Merchant, User
from kadosei.services import accounts

ENCRYPTION_KEY = Fernet.generate_key().decode()


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"KADOSEI_ENV": "production"})


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"KADOSEI_ENV": "production"})


def test_production_defaults_are_strict(monkeypatch):
    for name in ("KADOSEI_PROXY_COUNT", "KADOSEI_ALLOW_HTTP_LOOPBACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("KADOSEI_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    monkeypatch.setenv("KADOSEI_PUBLIC_URL", "https://pay.example.com")

    config = load_config({"KADOSEI_ENV": "production"})

    assert config["KADOSEI_PROXY_COUNT"] == 1
    assert config["KADOSEI_ALLOW_HTTP_LOOPBACK"] is False
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_refuses_to_start_without_encryption_keys(monkeypatch):
    # Not derived from SECRET_KEY there: rotating that must not lock out two-factor users.
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("KADOSEI_PUBLIC_URL", "https://pay.example.com")
    monkeypatch.delenv("KADOSEI_ENCRYPTION_KEYS", raising=False)

    with pytest.raises(ConfigError, match="KADOSEI_ENCRYPTION_KEYS"):
        load_config({"KADOSEI_ENV": "production"})


@pytest.mark.parametrize("value", ["not-a-key", f"{Fernet.generate_key().decode()},short", " , "])
def test_encryption_keys_that_are_not_fernet_keys_are_refused(monkeypatch, value):
    monkeypatch.setenv("KADOSEI_ENCRYPTION_KEYS", value)

    with pytest.raises(ValueError, match="KADOSEI_ENCRYPTION_KEYS"):
        load_config({"KADOSEI_ENV": "development"})


def test_encryption_keys_are_read_in_order_and_default_to_one_derived_from_secret_key(
    monkeypatch,
):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.delenv("KADOSEI_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)

    derived = load_config({"KADOSEI_ENV": "development"})["KADOSEI_ENCRYPTION_KEYS"]
    again = load_config({"KADOSEI_ENV": "testing"})["KADOSEI_ENCRYPTION_KEYS"]
    other = load_config({"SECRET_KEY": "t" * 40})["KADOSEI_ENCRYPTION_KEYS"]
    monkeypatch.setenv("KADOSEI_ENCRYPTION_KEYS", f"{new}, {old}")
    given = load_config({"KADOSEI_ENV": "production", "KADOSEI_PUBLIC_URL": "https://p.example"})

    assert given["KADOSEI_ENCRYPTION_KEYS"] == (new, old)
    assert len(derived) == 1 and Fernet(derived[0])
    assert derived == again
    assert derived != other


@pytest.mark.parametrize(
    "public_url",
    [
        None,
        "",
        "http://pay.example.com",
        "pay.example.com",
        "https://",
        "https://x:port",
        "https://x/?a",
    ],
)
def test_production_refuses_to_start_without_an_https_public_url(monkeypatch, public_url):
    # Without it, outward URLs would have to come from a request's (forgeable) host.
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("KADOSEI_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    monkeypatch.delenv("KADOSEI_PUBLIC_URL", raising=False)
    if public_url is not None:
        monkeypatch.setenv("KADOSEI_PUBLIC_URL", public_url)

    with pytest.raises(ConfigError, match="KADOSEI_PUBLIC_URL"):
        load_config({"KADOSEI_ENV": "production"})


def test_the_public_url_is_kept_without_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("KADOSEI_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    monkeypatch.setenv("KADOSEI_PUBLIC_URL", "https://pay.example.com/")

    assert load_config({"KADOSEI_ENV": "production"})["KADOSEI_PUBLIC_URL"] == (
        "https://pay.example.com"
    )


def test_outside_production_a_missing_public_url_is_a_fixed_loopback_base(monkeypatch):
    monkeypatch.delenv("KADOSEI_PUBLIC_URL", raising=False)

    for env in ("development", "testing"):
        assert load_config({"KADOSEI_ENV": env})["KADOSEI_PUBLIC_URL"] == LOCAL_PUBLIC_URL


def test_development_allows_loopback_http_unless_told_not_to(monkeypatch):
    monkeypatch.delenv("KADOSEI_ALLOW_HTTP_LOOPBACK", raising=False)
    assert load_config({"KADOSEI_ENV": "development"})["KADOSEI_ALLOW_HTTP_LOOPBACK"] is True

    monkeypatch.setenv("KADOSEI_ALLOW_HTTP_LOOPBACK", "0")
    assert load_config({"KADOSEI_ENV": "development"})["KADOSEI_ALLOW_HTTP_LOOPBACK"] is False


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigError):
        load_config({"KADOSEI_ENV": "staging"})


def test_a_plain_postgresql_url_works_as_is():
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_password_hashing_is_argon2id_at_owasp_cost(app):
    app.config.update(load_config({"KADOSEI_ENV": "testing"}))  # the real argon2 parameters

    stored = accounts.hash_password("correct horse battery")

    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(stored, "correct horse battery")


def test_create_merchant_with_password_option(app, db):
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=[
            "create-merchant",
            "--name",
            "Acme",
            "--email",
            "Ops@Acme.example",
            "--password",
            "a long enough password",
        ]
    )

    user = db.session.scalar(select(User))
    assert result.exit_code == 0, result.output
    assert "Created merchant" in result.output
    assert user.email == "ops@acme.example"
    assert db.session.scalar(select(Merchant)).name == "Acme"
    assert accounts.authenticate("ops@acme.example", "a long enough password").id == user.id


def test_create_merchant_prompts_for_the_password_twice(app, db):
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["create-merchant", "--name", "Acme", "--email", "ops@acme.example"],
        input="a long enough password\na long enough password\n",
    )

    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    assert accounts.authenticate("ops@acme.example", "a long enough password")


def test_create_merchant_refuses_a_weak_password_or_taken_email(app, db, factories):
    factories.make_merchant(email="taken@example.com")
    runner = app.test_cli_runner()

    weak = runner.invoke(
        args=["create-merchant", "--name", "A", "--email", "a@example.com", "--password", "short"]
    )
    taken = runner.invoke(
        args=[
            "create-merchant",
            "--name",
            "B",
            "--email",
            "taken@example.com",
            "--password",
            "a long enough password",
        ]
    )

    assert weak.exit_code != 0 and "password" in weak.output
    assert taken.exit_code != 0 and "already exists" in taken.output
    assert len(db.session.scalars(select(User)).all()) == 1


def test_the_readme_configuration_table_is_the_declared_settings(app):
    result = app.test_cli_runner().invoke(args=["settings"])
    readme = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Configuration\n", 1)[1].split("\n### ", 1)[0]
    table = "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))

    assert result.exit_code == 0, result.output
    assert table == result.output
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert documented == {setting.env for setting in SETTINGS if setting.env}


@pytest.mark.parametrize(
    ("variable", "text", "key", "value"),
    [
        ("KADOSEI_WEBHOOK_TIMEOUT", "2.5", "KADOSEI_WEBHOOK_TIMEOUT", 2.5),
        ("KADOSEI_JWT_ACCESS_TTL", "60", "JWT_ACCESS_TTL", 60),
        ("KADOSEI_WEBHOOK_ALLOW_PRIVATE", "yes", "KADOSEI_WEBHOOK_ALLOW_PRIVATE", True),
        ("KADOSEI_PUBLIC_URL", "https://pay.example/", "KADOSEI_PUBLIC_URL", "https://pay.example"),
        (
            "DATABASE_URL",
            "postgresql://u@h/db",
            "SQLALCHEMY_DATABASE_URI",
            "postgresql+psycopg://u@h/db",
        ),
        ("KADOSEI_ROUTING", '{"rules": []}', "KADOSEI_ROUTING", '{"rules": []}'),
    ],
)
def test_an_environment_variable_sets_its_setting(monkeypatch, variable, text, key, value):
    monkeypatch.setenv(variable, text)

    assert load_config({"KADOSEI_ENV": "testing"})[key] == value


def test_an_empty_environment_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("KADOSEI_EMBEDDED_QUEUE_PORT", "")
    monkeypatch.setenv("REDIS_URL", "")

    config = load_config({"KADOSEI_ENV": "testing"})

    assert config["KADOSEI_EMBEDDED_QUEUE_PORT"] == 16379
    assert config["REDIS_URL"] is None
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_code_reads_only_declared_settings_without_defaults_of_its_own():
    """Outside config.py no module reads the environment, and every ``config["X"]`` it reads
    is declared (``config.get("X", default)`` would be a second default)."""
    problems = []
    for path in sorted((BASE_DIR / "kadosei").rglob("*.py")):
        if path.name == "config.py" and path.parent.name == "kadosei":
            continue
        where = path.relative_to(BASE_DIR)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                problems.append(f"{where}:{node.lineno} reads the environment")
            method = node.func if isinstance(node, ast.Call) else None
            if isinstance(method, ast.Attribute) and _reads_with_default(method):
                problems.append(f"{where}:{node.lineno} config.{method.attr}(…)")
            if isinstance(node, ast.Subscript) and _is_config(node.value):
                key = node.slice
                if isinstance(key, ast.Constant) and key.value not in DECLARED:
                    problems.append(f"{where}:{node.lineno} undeclared {key.value}")

    assert problems == []


def _reads_with_default(method: ast.Attribute) -> bool:
    return method.attr in {"get", "setdefault"} and _is_config(method.value)


def _is_config(node: ast.expr) -> bool:
    named = isinstance(node, ast.Name) and node.id in {"config", "cfg"}
    return named or (isinstance(node, ast.Attribute) and node.attr == "config")
