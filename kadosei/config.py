"""Every setting, declared once (docs/api.md §9): its name, type, default and meaning, and the
environment variable an operator sets it with. ``load_config`` builds the Flask config from
them; production fails fast on a missing or weak secret."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kadosei.encryption import derived_key, parse_keys

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("development", "production", "testing")
MIN_SECRET_LENGTH = 32
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
# Outward URLs (checkout, provider return, HTTPS redirects) never come from a request's host:
# without KADOSEI_PUBLIC_URL, development and tests use this fixed loopback base.
LOCAL_PUBLIC_URL = "http://127.0.0.1:5000"
LOCK_TIMEOUT_MS = 5000


class ConfigError(RuntimeError):
    """A setting is missing or invalid; raised at start-up, never at request time."""


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _not_zero(value: str) -> bool:
    return value.strip() != "0"


def _positive_seconds(value: str) -> int:
    seconds = int(value)
    if seconds <= 0:
        raise ValueError("must be a positive number of seconds")
    return seconds


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ConfigError(f"expected a whole number of at least 1, not {value!r}")
    return number


def _base_url(value: str) -> str | None:
    return value.rstrip("/") or None


def normalize_database_url(url: str) -> str:
    """Accept a plain ``postgresql://`` URL and drive it with psycopg 3."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def _mail_host(config: Mapping[str, Any]) -> str:
    return urlsplit(config["KADOSEI_PUBLIC_URL"] or LOCAL_PUBLIC_URL).hostname or "localhost"


def _production(config: Mapping[str, Any]) -> bool:
    return config["KADOSEI_ENV"] == "production"


def _development(config: Mapping[str, Any]) -> bool:
    return config["KADOSEI_ENV"] == "development"


def smtp_url(value: str) -> str:
    """``KADOSEI_SMTP_URL``: ``smtp://`` or ``smtps://`` with a host; refused at start-up
    otherwise (a password belongs in ``KADOSEI_SMTP_PASSWORD``, not in the URL)."""
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018  (a malformed port raises)
    except ValueError:
        raise ConfigError(f"KADOSEI_SMTP_URL has a malformed port: {value!r}") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("KADOSEI_SMTP_URL must look like smtp://[user@]host[:port] or smtps://…")
    if parts.password:
        raise ConfigError("KADOSEI_SMTP_URL must not hold a password: set KADOSEI_SMTP_PASSWORD")
    return value.strip()


def _postgres_lock_timeout(config: Mapping[str, Any]) -> dict:
    """A request never hangs on a row lock: after 5 s it fails (``lock_not_available``), which
    the caller turns into a clear answer (``idempotency_key_in_use``, or a 503 to retry)."""
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return {}
    return {"connect_args": {"options": f"-c lock_timeout={LOCK_TIMEOUT_MS}"}}


@dataclass(frozen=True)
class Setting:
    """One Flask config key. ``env`` names the environment variable that sets it (``None``: set
    by code and tests only), read with ``type``; an unset or empty variable means ``default``,
    which may be a function of the settings declared before it. ``shown`` is the default as the
    README states it, when the value itself would not say it."""

    name: str
    type: Callable[[str], Any]
    default: Any
    meaning: str
    env: str | None = None
    shown: str | None = None

    def read(self, environ: Mapping[str, str], config: Mapping[str, Any]) -> Any:
        raw = environ.get(self.env) if self.env else None
        if raw:
            return self.type(raw)
        return self.default(config) if callable(self.default) else self.default


SETTINGS: tuple[Setting, ...] = (
    # -- set by the operator (the README's configuration table is generated from these) ------
    Setting(
        "KADOSEI_ENV",
        str,
        "development",
        "`development`, `production` (or `testing`)",
        env="KADOSEI_ENV",
    ),
    Setting(
        "SECRET_KEY",
        str,
        lambda c: None if _production(c) else DEV_SECRET_KEY,
        "signs sessions, JWTs, sandbox notifications; required in production",
        env="SECRET_KEY",
        shown="a development-only value",
    ),
    Setting(
        "SQLALCHEMY_DATABASE_URI",
        normalize_database_url,
        normalize_database_url(f"sqlite:///{BASE_DIR / 'instance' / 'kadosei.db'}"),
        "SQLAlchemy URL; a plain `postgresql://` URL is driven by psycopg 3",
        env="DATABASE_URL",
        shown="`sqlite:///instance/kadosei.db`",
    ),
    Setting(
        "REDIS_URL",
        str,
        None,
        "queue, rate limits and routing statistics",
        env="REDIS_URL",
        shown="unset: the embedded queue server on `127.0.0.1:16379`, started by the worker",
    ),
    Setting(
        "KADOSEI_PUBLIC_URL",
        _base_url,
        lambda c: None if _production(c) else LOCAL_PUBLIC_URL,
        "the https base of every outward URL (`checkout_url`, provider pages and return URLs, "
        "HTTPS redirects); never taken from a request's host; required in production",
        env="KADOSEI_PUBLIC_URL",
        shown=f"`{LOCAL_PUBLIC_URL}` outside production (`dev.py start` sets its own port)",
    ),
    Setting(
        "KADOSEI_PROXY_COUNT",
        int,
        lambda c: 1 if _production(c) else 0,
        "trusted reverse proxies in front of kadosei",
        env="KADOSEI_PROXY_COUNT",
        shown="`0` in development, `1` in production",
    ),
    Setting(
        "KADOSEI_ALLOW_HTTP_LOOPBACK",
        _not_zero,
        _development,
        "plain HTTP from a loopback client, for local development; `0` turns it off",
        env="KADOSEI_ALLOW_HTTP_LOOPBACK",
        shown="on in development, off elsewhere; never in production",
    ),
    Setting(
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE",
        _flag,
        False,
        "lets *test-mode* webhook endpoints target loopback/private addresses (their answers' "
        "bodies are never kept: the delivery log shows status and timing only)",
        env="KADOSEI_WEBHOOK_ALLOW_PRIVATE",
        shown="off (`dev.py start` turns it on)",
    ),
    Setting(
        "KADOSEI_WEBHOOK_TIMEOUT",
        float,
        10.0,
        "seconds a webhook delivery try may take (connect and read)",
        env="KADOSEI_WEBHOOK_TIMEOUT",
        shown="`10`",
    ),
    Setting(
        "KADOSEI_WEBHOOK_LEASE_SECONDS",
        int,
        45,
        "how long a worker holds a delivery while sending it (longer than a try can last; "
        "a crashed worker's claim expires)",
        env="KADOSEI_WEBHOOK_LEASE_SECONDS",
    ),
    Setting(
        "KADOSEI_WEBHOOK_CONCURRENCY",
        _positive_int,
        16,
        "webhook deliveries each worker process keeps in flight at once (its delivery threads)",
        env="KADOSEI_WEBHOOK_CONCURRENCY",
    ),
    Setting(
        "KADOSEI_WEBHOOK_PER_ENDPOINT",
        _positive_int,
        4,
        "deliveries in flight to one endpoint at once, from all worker processes and hosts "
        "together (counted in the database): a slow or hanging receiver holds that many slots "
        "and delays no other endpoint",
        env="KADOSEI_WEBHOOK_PER_ENDPOINT",
    ),
    Setting(
        "KADOSEI_API_KEY_PEPPER",
        str,
        lambda c: c["SECRET_KEY"],
        "HMAC key for API-key digests",
        env="KADOSEI_API_KEY_PEPPER",
        shown="`SECRET_KEY`",
    ),
    Setting(
        "KADOSEI_ENCRYPTION_KEYS",
        parse_keys,
        lambda c: (
            None if _production(c) or not c["SECRET_KEY"] else (derived_key(c["SECRET_KEY"]),)
        ),
        "comma-separated Fernet keys that encrypt secrets at rest (two-factor secrets): the "
        "first encrypts, all decrypt (rotation: put a new key first, run `flask "
        "rotate-encryption`, then drop the old); required in production",
        env="KADOSEI_ENCRYPTION_KEYS",
        shown="outside production, a key derived from `SECRET_KEY`",
    ),
    Setting(
        "JWT_ACCESS_TTL",
        int,
        900,
        "access-token lifetime in seconds",
        env="KADOSEI_JWT_ACCESS_TTL",
    ),
    Setting(
        "JWT_REFRESH_TTL",
        int,
        30 * 86400,
        "refresh-token lifetime in seconds",
        env="KADOSEI_JWT_REFRESH_TTL",
    ),
    Setting(
        "API_RATE_LIMIT",
        str,
        None,
        "requests per API key, e.g. `200 per second` (never below 100/s; `429` with "
        "`Retry-After` past it)",
        env="KADOSEI_API_RATE_LIMIT",
        shown="unset: no limit",
    ),
    Setting(
        "LOGIN_RATE_LIMIT",
        str,
        "10 per 5 minutes",
        "failed logins allowed per account and per client address",
        env="KADOSEI_LOGIN_RATE_LIMIT",
    ),
    Setting(
        "KADOSEI_CAPTURE_WINDOW",
        _positive_seconds,
        7 * 24 * 3600,
        "seconds an authorised `manual`-capture payment waits for its capture; then kadosei "
        "voids it at the provider and the session is `expired` (docs/api.md §4.2)",
        env="KADOSEI_CAPTURE_WINDOW",
        shown="`604800` (7 days)",
    ),
    Setting(
        "MAIL_SMTP_URL",
        smtp_url,
        None,
        "where kadosei sends mail (password reset): `smtp://[user@]host[:port]` (STARTTLS when "
        "the server offers it) or `smtps://…` (TLS from the start)",
        env="KADOSEI_SMTP_URL",
        shown="unset: mail is written to the log (outside production, with its links)",
    ),
    Setting(
        "MAIL_SMTP_PASSWORD",
        str,
        None,
        "the SMTP user's password (kept out of the URL)",
        env="KADOSEI_SMTP_PASSWORD",
        shown="unset: no SMTP login unless the URL names a user",
    ),
    Setting(
        "MAIL_FROM",
        str,
        lambda c: f"kadosei <no-reply@{_mail_host(c)}>",
        "the From address of kadosei's mail",
        env="KADOSEI_MAIL_FROM",
        shown="`no-reply@` the host of `KADOSEI_PUBLIC_URL`",
    ),
    Setting(
        "PASSWORD_RESET_TTL",
        int,
        1800,
        "seconds a password-reset link stays valid",
        env="KADOSEI_PASSWORD_RESET_TTL",
    ),
    Setting("KADOSEI_QUEUE_NAME", str, "kadosei", "RQ queue name", env="KADOSEI_QUEUE_NAME"),
    Setting(
        "KADOSEI_METRICS_TOKEN",
        str,
        None,
        "bearer token `/metrics` requires (unset: `/metrics` needs none)",
        env="KADOSEI_METRICS_TOKEN",
        shown="unset",
    ),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        str,
        None,
        "folder where each gunicorn process writes its metrics so `/metrics` adds them up "
        "(`gunicorn.conf.py` sets one, and clears stopped processes' files at start); a "
        "worker given the same folder on the same host shows up in that `/metrics` too",
        env="PROMETHEUS_MULTIPROC_DIR",
        shown="unset: one process's own metrics",
    ),
    Setting(
        "KADOSEI_WORKER_METRICS_PORT",
        int,
        None,
        "port on which `flask worker` serves its own metrics (`/metrics`, with "
        "`KADOSEI_METRICS_TOKEN` when set), for a worker on a host without a web instance "
        "sharing its `PROMETHEUS_MULTIPROC_DIR`",
        env="KADOSEI_WORKER_METRICS_PORT",
        shown="unset: none served",
    ),
    Setting(
        "KADOSEI_WORKER_METRICS_ADDRESS",
        str,
        "127.0.0.1",
        "address the worker's metrics port listens on (e.g. the host's private address)",
        env="KADOSEI_WORKER_METRICS_ADDRESS",
    ),
    Setting(
        "KADOSEI_EMBEDDED_QUEUE_PORT",
        int,
        16379,
        "port of the embedded queue server (when `REDIS_URL` is unset)",
        env="KADOSEI_EMBEDDED_QUEUE_PORT",
    ),
    Setting(
        "KADOSEI_ROUTING",
        str,
        None,
        "routing rules: a JSON document or the path of a file holding one, checked at start "
        "(see Routing configuration)",
        env="KADOSEI_ROUTING",
        shown="unset: no configured rules",
    ),
    Setting(
        "KADOSEI_HOT_CACHE_SECONDS",
        float,
        5.0,
        "seconds an instance may reuse the routing rules and shop names it read (a change made "
        "on another instance or by the CLI is seen everywhere within this; 0: read every time)",
        env="KADOSEI_HOT_CACHE_SECONDS",
    ),
    Setting(
        "KADOSEI_PROVIDERS",
        str,
        None,
        "provider accounts (Stripe, Mollie, Adyen): a JSON document or the path of a file "
        "holding one, checked at start; credentials as `env:NAME` or `file:PATH` (docs/api.md "
        "§10)",
        env="KADOSEI_PROVIDERS",
        shown="unset: the sandbox providers only (test mode)",
    ),
    # -- set by code and tests only ------------------------------------------------------------
    Setting(
        "KADOSEI_OPEN_OPERATOR_PAGES",
        bool,
        _development,
        "every signed-in user may use operator pages (a local development install)",
    ),
    Setting("SIGNUP_RATE_LIMIT", str, "20 per hour", "portal sign-ups per client address"),
    Setting(
        "PASSWORD_RESET_RATE_LIMIT",
        str,
        "5 per 15 minutes",
        "password-reset requests per client address and per e-mail address",
    ),
    Setting("MAIL_TIMEOUT", float, 10.0, "seconds an SMTP connection may take per step"),
    Setting(
        "TWO_FACTOR_ISSUER", str, "kadosei", "the issuer named in two-factor authenticator apps"
    ),
    Setting(
        "KADOSEI_ROUTING_CONNECT_TIMEOUT",
        float,
        0.1,
        "seconds routing waits to connect to Redis before it orders by fee",
    ),
    Setting(
        "KADOSEI_ROUTING_SOCKET_TIMEOUT",
        float,
        0.25,
        "seconds routing waits for a Redis answer before it orders by fee",
    ),
    Setting(
        "KADOSEI_ROUTING_STORE_PAUSE",
        float,
        5.0,
        "seconds routing leaves an unreachable statistics store alone before trying again",
    ),
    Setting(
        "KADOSEI_ROUTING_PARAMS",
        dict,
        None,
        "the policy's parameters (a ``Params`` or its fields); unset: the policy's defaults",
    ),
    Setting("KADOSEI_ROUTING_SEED", int, None, "seed of the router's random draws (tests)"),
    Setting(
        "KADOSEI_ROUTING_CLOCK",
        object,
        None,
        "a function returning the router's time in seconds (tests); unset: wall time",
    ),
    Setting(
        "SANDBOX_TIMEOUT_SECONDS",
        float,
        3.0,
        "how long the sandbox adapter waits on a provider set to answer slowly",
    ),
    Setting(
        "SANDBOX_PROCESSING_SECONDS",
        float,
        5,
        "seconds before a sandbox payment with the delayed card completes",
    ),
    Setting(
        "SANDBOX_REFUND_SECONDS",
        float,
        5,
        "seconds before a sandbox refund settles (then its signed notification is sent)",
    ),
    Setting(
        "SANDBOX_SIGNING_SECRETS",
        dict,
        lambda c: {},
        "sandbox notification secrets per provider; unset ones are derived from `SECRET_KEY`",
    ),
    # argon2id parameters (OWASP: m=19 MiB, t=2, p=1 at minimum).
    Setting("ARGON2_TIME_COST", int, 2, "argon2id iterations"),
    Setting("ARGON2_MEMORY_COST", int, 19456, "argon2id memory in KiB"),
    Setting("ARGON2_PARALLELISM", int, 1, "argon2id lanes"),
    # -- Flask's and its extensions' own keys, as kadosei runs them ----------------------------
    Setting(
        "SQLALCHEMY_ENGINE_OPTIONS",
        dict,
        _postgres_lock_timeout,
        "engine options (on PostgreSQL: no statement waits more than 5 s for a lock); "
        "connections idle in the pool over 1 s are pinged before use",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        str,
        lambda c: c["REDIS_URL"] or "memory://",
        "where login and sign-up counts live",
    ),
    Setting("RATELIMIT_HEADERS_ENABLED", bool, True, "rate-limit headers on limited answers"),
    Setting("RATELIMIT_SWALLOW_ERRORS", bool, True, "an unreachable limit store never fails"),
    Setting("WTF_CSRF_TIME_LIMIT", int, None, "CSRF tokens last as long as the session"),
    Setting("SESSION_COOKIE_HTTPONLY", bool, True, "portal session cookie"),
    Setting("SESSION_COOKIE_SAMESITE", str, "Lax", "portal session cookie"),
    Setting(
        "SESSION_COOKIE_SECURE",
        bool,
        None,
        "portal session cookie over HTTPS only; unset: unless plain loopback HTTP is allowed",
    ),
    Setting("REMEMBER_COOKIE_HTTPONLY", bool, True, "remember-me cookie"),
    Setting("REMEMBER_COOKIE_SAMESITE", str, "Lax", "remember-me cookie"),
    Setting(
        "REMEMBER_COOKIE_SECURE",
        bool,
        None,
        "remember-me cookie over HTTPS only; unset: unless plain loopback HTTP is allowed",
    ),
    Setting("PERMANENT_SESSION_LIFETIME", int, 12 * 3600, "portal session lifetime in seconds"),
    Setting("MAX_CONTENT_LENGTH", int, 1024 * 1024, "largest request body in bytes"),
)

DECLARED = frozenset(setting.name for setting in SETTINGS)


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config from the environment; ``overrides`` (code and tests) win, by
    config key (``DATABASE_URL`` also names the database). Other keys pass through to Flask."""
    given = dict(overrides or {})
    if "DATABASE_URL" in given:
        given["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(given.pop("DATABASE_URL"))
    config: dict = {}
    for setting in SETTINGS:
        if setting.name in given:
            config[setting.name] = given.pop(setting.name)
        else:
            config[setting.name] = setting.read(os.environ, config)
        if setting.name == "KADOSEI_ENV" and config["KADOSEI_ENV"] not in ENVIRONMENTS:
            env = config["KADOSEI_ENV"]
            raise ConfigError(f"KADOSEI_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    config.update(given)
    if not config["KADOSEI_PUBLIC_URL"] and not _production(config):
        config["KADOSEI_PUBLIC_URL"] = LOCAL_PUBLIC_URL  # a test or script passed None
    if config["KADOSEI_PUBLIC_URL"]:
        config["KADOSEI_PUBLIC_URL"] = config["KADOSEI_PUBLIC_URL"].rstrip("/")
    if _production(config):
        config["KADOSEI_ALLOW_HTTP_LOOPBACK"] = False
        validate_production(config)
    for cookie in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config[cookie] is None:
            config[cookie] = not config["KADOSEI_ALLOW_HTTP_LOOPBACK"]
    return config


def validate_production(config: Mapping[str, Any]) -> None:
    """Refuse to start production on settings that would be unsafe there."""
    secret = config["SECRET_KEY"]
    if not secret:
        raise ConfigError("SECRET_KEY must be set in production")
    if len(secret) < MIN_SECRET_LENGTH:
        # It signs the JWTs (HS256 wants a key of at least 256 bits) and the portal sessions.
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
    if not config["KADOSEI_ENCRYPTION_KEYS"]:
        # Not derived from SECRET_KEY here: rotating that (after a leak, say) would otherwise
        # leave every two-factor secret unreadable, and the keys could not be rotated alone.
        raise ConfigError(
            "KADOSEI_ENCRYPTION_KEYS must be set in production (a Fernet key: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        )
    url = config["KADOSEI_PUBLIC_URL"]
    if not url:
        raise ConfigError(
            "KADOSEI_PUBLIC_URL must be set in production (e.g. https://pay.example.com)"
        )
    if not _is_https_url(url):
        raise ConfigError(f"KADOSEI_PUBLIC_URL must be an https:// URL, not {url!r}")


def _is_https_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (a malformed port raises)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and not (parts.query or parts.fragment)


def environment_secret(name: str) -> str:
    """The value of the environment variable a credential names (``env:NAME`` in
    ``KADOSEI_PROVIDERS``), stripped; empty when unset. The only read of the environment
    outside the settings table."""
    return os.environ.get(name, "").strip()


def settings_table() -> str:
    """The environment settings as the README's Markdown table."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        if setting.env:
            shown = setting.shown or f"`{setting.default}`"
            rows.append(f"| `{setting.env}` | {setting.meaning} | {shown} |")
    return "\n".join(rows) + "\n"
