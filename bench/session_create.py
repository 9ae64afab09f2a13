"""Benchmark: payment session creation against a bare Flask + SQLAlchemy one-row insert.

Both run under gunicorn with the same settings (workers, PostgreSQL, loopback), in the same
run, against a throwaway database that is dropped afterwards. A bounded load generator
(threads over http.client, loopback only) measures requests per second and latency.

    .venv/bin/python bench/session_create.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--workers 2] [--clients 8] [--seconds 8] [--rounds 2] [--before PATH]

Prints req/s, p50 and p99 for each, and the ratio kadosei / bare (the aim: at least 0.7).
``--before PATH`` also measures another checkout of kadosei (e.g. ``git worktree add
/tmp/before HEAD~5``), in the same alternating rounds, so a change is judged before and after
in one run. Each tree gets a database of its own, built by its own migrations, and its merchant,
application and key are made through the public CLI and management API, so any version works.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kadosei.config import normalize_database_url  # noqa: E402  (after the path is set)

SESSION_BODY = {
    "amount": 1999,
    "currency": "EUR",
    "payment_method": "card",
    "success_url": "https://shop.example/thanks",
    "cancel_url": "https://shop.example/cart",
    "reference": "order-42",
    "metadata": {"cart": "c_123"},
}


# -- the bare endpoint: Flask + SQLAlchemy, one row per request -----------------------------


class _BareBase(DeclarativeBase):
    pass


bare_db = SQLAlchemy(model_class=_BareBase)


class BareRow(bare_db.Model):
    __tablename__ = "bench_bare_rows"

    pk: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    body: Mapped[dict] = mapped_column(JSON)


def bare_app() -> Flask:
    """``gunicorn 'session_create:bare_app()'``: POST /rows inserts one row and answers 201."""
    app = Flask("bare")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(os.environ["DATABASE_URL"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    bare_db.init_app(app)  # the table is created once, before gunicorn starts its workers

    @app.post("/rows")
    def insert_row():
        row = BareRow(id=f"row_{uuid.uuid4().hex}", body=request.get_json())
        bare_db.session.add(row)
        bare_db.session.commit()
        return {"id": row.id, "body": row.body}, 201

    return app


# -- setting up and tearing down -------------------------------------------------------------


def create_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(normalize_database_url(server_url))
    name = f"kadosei_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    admin = create_engine(
        make_url(normalize_database_url(server_url)), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepare_bare(database_url: str) -> None:
    """The bare endpoint's table, created once (workers racing to create it would crash)."""
    from sqlalchemy import create_engine

    engine = create_engine(normalize_database_url(database_url))
    _BareBase.metadata.create_all(engine)
    engine.dispose()


def prepare_kadosei(
    tree: Path, database_url: str, port: int, workers: int, redis_url: str = ""
) -> tuple:
    """Migrate ``tree``'s schema into ``database_url``, start it under gunicorn, and make a
    merchant (CLI), an application and a test key (management API). Returns (server, secret)."""
    env = {**os.environ, **kadosei_env(database_url, redis_url)}
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=tree, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "create-merchant", "--name", "Bench shop", "--email", "bench@example.com",
         "--password", "bench-password-1"],
        cwd=tree, env=env, check=True, capture_output=True,
    )  # fmt: skip
    server = start_gunicorn(tree, "wsgi:app", port, workers, kadosei_env(database_url, redis_url))
    https = {"Content-Type": "application/json", "X-Forwarded-Proto": "https"}
    login = _call(port, "/api/v1/auth/login", https, {
        "email": "bench@example.com", "password": "bench-password-1"})  # fmt: skip
    jwt = {**https, "Authorization": f"Bearer {login['access_token']}"}
    application = _call(port, "/api/v1/applications", jwt, {"name": "Bench"})
    key = _call(port, f"/api/v1/applications/{application['id']}/api_keys", jwt, {"mode": "test"})
    return server, key["key"]


def _call(port: int, path: str, headers: dict, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if response.status not in (200, 201):
        raise RuntimeError(f"POST {path}: {response.status} {payload[:300]!r}")
    return json.loads(payload)


# Production needs its own key for secrets at rest; a throwaway one per run.
BENCH_ENCRYPTION_KEY = Fernet.generate_key().decode()


def kadosei_env(database_url: str, redis_url: str = "") -> dict:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KADOSEI_ENV": "production",
        "KADOSEI_ENCRYPTION_KEYS": BENCH_ENCRYPTION_KEY,
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-hs256",
        "KADOSEI_PUBLIC_URL": "https://kadosei.bench",
        "KADOSEI_PROXY_COUNT": "1",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(tree: Path, target: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--log-level", "warning",
        "--chdir", str(tree),
        "--pythonpath", f"{tree},{ROOT / 'bench'}",
        target,
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=tree)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {target} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn {target} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


# -- the load generator ----------------------------------------------------------------------


def load(
    port: int, path: str, headers: dict, clients: int, seconds: float, unique_key: bool = False
) -> dict:
    """``clients`` threads POSTing the session body back to back for ``seconds`` (with a new
    ``Idempotency-Key`` on every request when ``unique_key``)."""
    body = json.dumps(SESSION_BODY).encode()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        mine, failed = [], 0
        while time.monotonic() < stop_at:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            started = time.perf_counter()
            try:
                sent = {**headers, "Idempotency-Key": uuid.uuid4().hex} if unique_key else headers
                conn.request("POST", path, body=body, headers=sent)
                response = conn.getresponse()
                response.read()
                ok = response.status == 201
            except OSError:
                ok = False
            finally:
                conn.close()
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "errors": errors[0], "elapsed": time.monotonic() - began}


@dataclass(frozen=True)
class Target:
    name: str
    server: str  # which started server answers it
    path: str
    headers: dict
    unique_key: bool = False


def summarize(runs: list[dict]) -> dict:
    latencies = sorted(value for run in runs for value in run["latencies"])
    elapsed = sum(run["elapsed"] for run in runs)
    return {
        "requests": len(latencies),
        "errors": sum(run["errors"] for run in runs),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[max(0, int(len(latencies) * 0.99) - 1)]
        if latencies
        else float("nan"),
    }


def targets(secrets: dict[str, str]) -> list[Target]:
    """The bare endpoint, then each kadosei tree with and without a fresh Idempotency-Key."""
    path = "/api/v1/payment_sessions"
    found = [Target("bare insert", "bare", "/rows", {})]
    for tree, secret in secrets.items():
        api = {"Authorization": f"Bearer {secret}", "X-Forwarded-Proto": "https"}
        label = "kadosei create" if tree == "after" else "before: create"
        found.append(Target(label, tree, path, api))
        found.append(Target(f"{label} + idem-key", tree, path, api, unique_key=True))
    return found


def run(args, trees: dict[str, Path], databases: dict[str, str]) -> dict[str, dict]:
    """Start each server once, then measure in alternating rounds so drift hits all alike."""
    runs: dict[str, list[dict]] = {}
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    secrets: dict[str, str] = {}
    try:
        port = free_port()
        bare_env = {"DATABASE_URL": databases["bare"], "REDIS_URL": ""}
        servers["bare"] = (start_gunicorn(ROOT, "session_create:bare_app()", port,
                                          args.workers, bare_env), port)  # fmt: skip
        for name, tree in trees.items():
            port = free_port()
            server, secrets[name] = prepare_kadosei(tree, databases[name], port, args.workers)
            servers[name] = (server, port)
        for _ in range(args.rounds):
            for target in targets(secrets):
                port = servers[target.server][1]
                headers = {"Content-Type": "application/json", **target.headers}
                load(port, target.path, headers, args.clients, 1.0, target.unique_key)  # warm
                result = load(
                    port, target.path, headers, args.clients, args.seconds, target.unique_key
                )
                runs.setdefault(target.name, []).append(result)
    finally:
        for process, _ in servers.values():
            stop(process)
    results = {name: summarize(measured) for name, measured in runs.items()}
    for name, result in results.items():
        if not result["requests"] or result["errors"] > result["requests"] // 100:
            raise SystemExit(f"{name}: too many failed requests; see gunicorn's output above")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0, help="per target per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", type=Path, help="another kadosei checkout to measure too")
    args = parser.parse_args()

    trees = {"after": ROOT}
    if args.before:
        trees["before"] = args.before.resolve()
    databases = {name: create_database(args.database_url) for name in ("bare", *trees)}
    try:
        prepare_bare(databases["bare"])
        results = run(args, trees, databases)
    finally:
        for database_url in databases.values():
            drop_database(args.database_url, database_url)

    print(
        f"gunicorn {args.workers} sync workers each, PostgreSQL, {args.clients} client threads, "
        f"{args.rounds} rounds x {args.seconds:g} s per target"
    )
    for name, result in results.items():
        print(
            f"{name:28s} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
            f"p99 {result['p99_ms']:6.1f} ms  ({result['requests']} ok, {result['errors']} errors)"
        )
    bare = results["bare insert"]["rps"]
    for label in ("kadosei create", "before: create"):
        if label in results:
            plain = results[label]["rps"] / bare
            keyed = results[f"{label} + idem-key"]["rps"] / bare
            print(f"{label}: {plain:.2f} x bare (aim >= 0.70); "
                  f"with a new Idempotency-Key each: {keyed:.2f} x bare")  # fmt: skip


if __name__ == "__main__":
    main()
