"""Settings from the environment (contract §9); production fails fast on a missing secret."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("development", "production", "testing")
MIN_SECRET_LENGTH = 32
# Outward URLs (checkout, provider return, HTTPS redirects) never come from a request's host:
# without KADOSEI_PUBLIC_URL, development and tests use this fixed loopback base.
LOCAL_PUBLIC_URL = "http://127.0.0.1:5000"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; raised at start-up, never at request time."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def normalize_database_url(url: str) -> str:
    """Accept a plain ``postgresql://`` URL and drive it with psycopg 3."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def _public_url(config: dict) -> str:
    """The base every outward URL is built on; production must name its own https URL."""
    url = (config.get("KADOSEI_PUBLIC_URL") or "").rstrip("/")
    if config["KADOSEI_ENV"] != "production":
        return url or LOCAL_PUBLIC_URL
    if not url:
        raise ConfigError(
            "KADOSEI_PUBLIC_URL must be set in production (e.g. https://pay.example.com)"
        )
    if not _is_https_url(url):
        raise ConfigError(f"KADOSEI_PUBLIC_URL must be an https:// URL, not {url!r}")
    return url


def _is_https_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (a malformed port raises)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and not (parts.query or parts.fragment)


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment, then apply ``overrides``."""
    overrides = dict(overrides or {})
    env = overrides.get("KADOSEI_ENV") or os.environ.get("KADOSEI_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"KADOSEI_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    production = env == "production"

    secret = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production")
        secret = "dev-only-insecure-secret-key-change-me"
    if production and len(secret) < MIN_SECRET_LENGTH:
        # It signs the JWTs (HS256 wants a key of at least 256 bits) and the portal sessions.
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")

    default_db = f"sqlite:///{BASE_DIR / 'instance' / 'kadosei.db'}"
    database_url = overrides.pop("DATABASE_URL", None) or os.environ.get("DATABASE_URL")
    proxy_default = "1" if production else "0"

    config: dict = {
        "KADOSEI_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url or default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "KADOSEI_QUEUE_NAME": os.environ.get("KADOSEI_QUEUE_NAME", "kadosei"),
        "KADOSEI_EMBEDDED_QUEUE_PORT": int(os.environ.get("KADOSEI_EMBEDDED_QUEUE_PORT", "16379")),
        "KADOSEI_PUBLIC_URL": os.environ.get("KADOSEI_PUBLIC_URL", "").rstrip("/") or None,
        "KADOSEI_PROXY_COUNT": int(os.environ.get("KADOSEI_PROXY_COUNT", proxy_default)),
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": _flag(os.environ.get("KADOSEI_WEBHOOK_ALLOW_PRIVATE")),
        # Webhook delivery: per-try timeout (connect and read) and the claim a worker holds on a
        # delivery while sending it (longer than a try can last; a crashed worker's claim expires).
        "KADOSEI_WEBHOOK_TIMEOUT": float(os.environ.get("KADOSEI_WEBHOOK_TIMEOUT", "10")),
        "KADOSEI_WEBHOOK_LEASE_SECONDS": int(os.environ.get("KADOSEI_WEBHOOK_LEASE_SECONDS", "45")),
        # Plain HTTP from a loopback client, for local development only (never production).
        "KADOSEI_ALLOW_HTTP_LOOPBACK": env == "development"
        and os.environ.get("KADOSEI_ALLOW_HTTP_LOOPBACK", "1") != "0",
        # On a local development install every signed-in user may use operator pages.
        "KADOSEI_OPEN_OPERATOR_PAGES": env == "development",
        "KADOSEI_API_KEY_PEPPER": os.environ.get("KADOSEI_API_KEY_PEPPER") or secret,
        "JWT_ACCESS_TTL": int(os.environ.get("KADOSEI_JWT_ACCESS_TTL", "900")),
        "JWT_REFRESH_TTL": int(os.environ.get("KADOSEI_JWT_REFRESH_TTL", str(30 * 86400))),
        "LOGIN_RATE_LIMIT": os.environ.get("KADOSEI_LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        "API_RATE_LIMIT": os.environ.get("KADOSEI_API_RATE_LIMIT") or None,
        # argon2id parameters (OWASP: m=19 MiB, t=2, p=1 at minimum).
        "ARGON2_TIME_COST": 2,
        "ARGON2_MEMORY_COST": 19456,
        "ARGON2_PARALLELISM": 1,
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }
    config.update(overrides)
    if "DATABASE_URL" in overrides:
        config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(overrides["DATABASE_URL"])
    if config["KADOSEI_ENV"] == "production":
        config["KADOSEI_ALLOW_HTTP_LOOPBACK"] = False
    config["KADOSEI_PUBLIC_URL"] = _public_url(config)
    secure_cookies = not config["KADOSEI_ALLOW_HTTP_LOOPBACK"]
    config.setdefault("SESSION_COOKIE_SECURE", secure_cookies)
    config.setdefault("REMEMBER_COOKIE_SECURE", secure_cookies)
    return config
