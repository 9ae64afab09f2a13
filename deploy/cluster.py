#!/usr/bin/env python3
"""The production topology on one machine, to see it work before spreading it over hosts
(docs/deployment.md): nginx terminating TLS with a throwaway certificate in front of two
gunicorn instances, two webhook/jobs workers, one PostgreSQL and one Redis of its own.

    python3 deploy/cluster.py up      # starts everything, prints the URLs; Ctrl-C stops it all

Run it from a checkout after ``python3 dev.py test`` (or ``start``) made ``.venv``. It needs
Debian's ``nginx``, ``postgresql`` and ``redis-server`` packages and ``openssl``; it leaves the
machine's own PostgreSQL and Redis alone (its own run on free ports, in a folder of its own).
The multi-instance proofs and fault drills (tests/cluster) drive the same ``Cluster`` class.

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"

NGINX_CONF = """\
{user}worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    client_max_body_size 1m;

    upstream kadosei {{
{upstreams}
        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {dir}/tls/cert.pem;
        ssl_certificate_key {dir}/tls/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;

        location / {{
            proxy_pass http://kadosei;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host:$server_port;
            # kadosei trusts exactly one proxy (KADOSEI_PROXY_COUNT=1): this one.
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Request-Id $request_id;
            # A dead instance: the next one answers (only for requests nothing has reached).
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}

        # One metrics route per instance, for Prometheus (deploy/prometheus.yml): /metrics
        # through the shared address would come from whichever instance the proxy picked.
{instance_metrics}
    }}

    # Plain HTTP goes to HTTPS: kadosei itself answers nothing over plain HTTP from outside.
    server {{
        listen 127.0.0.1:{http_port};
        return 301 https://127.0.0.1:{https_port}$request_uri;
    }}
}}
"""


INSTANCE_METRICS = """\
        location = /instances/{name}/metrics {{
            proxy_pass http://127.0.0.1:{port}/metrics;
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Request-Id $request_id;
        }}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise SystemExit("PostgreSQL binaries not found (Debian package postgresql)")
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Cluster:
    """The whole topology in ``base``; every process a child of this object."""

    base: Path
    instances: int = 2
    workers: int = 2
    gunicorn_workers: int = 2
    sweep_interval: float = 10.0
    extra_env: dict[str, str] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # A Fernet key (32 random bytes, url-safe base64) for secrets at rest.
    encryption_key: str = field(
        default_factory=lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base = Path(self.base)
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.https_port = free_port()
        self.http_port = free_port()
        self.web_ports = [free_port() for _ in range(self.instances)]
        # Each worker serves its own metrics (as on a worker host of its own).
        self.worker_metrics_ports = [free_port() for _ in range(self.workers)]
        # PostgreSQL's own folder, where the ``postgres`` user can reach it (not under a
        # private temporary folder of root's).
        self.pg_data = Path(tempfile.mkdtemp(prefix="kadosei-cluster-pg-")) / "data"

    # -- addresses -------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/kadosei"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def instance_url(self, index: int) -> str:
        """One gunicorn instance directly (plain HTTP: only the probes answer there)."""
        return f"http://127.0.0.1:{self.web_ports[index]}"

    def env(self, **more: str) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("KADOSEI_", "PROMETHEUS_", "GUNICORN_"))
            and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        }
        env.update(
            KADOSEI_ENV="production",
            SECRET_KEY=self.secret_key,
            KADOSEI_ENCRYPTION_KEYS=self.encryption_key,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            KADOSEI_PUBLIC_URL=self.public_url,
            KADOSEI_PROXY_COUNT="1",
            # Test-mode webhook endpoints may target this machine (a demo's receiver).
            KADOSEI_WEBHOOK_ALLOW_PRIVATE="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update(more)
        return env

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> Cluster:
        if self.base.exists():
            shutil.rmtree(self.base)
        (self.base / "logs").mkdir(parents=True)
        try:
            self.start_postgres(init=True)
            self.start_redis()
            self._migrate()
            for index in range(self.instances):
                self.start_instance(index)
            for index in range(self.workers):
                self.start_worker(index)
            self._certificate()
            self.start_nginx()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        if (self.pg_data / "PG_VERSION").exists():
            subprocess.run(
                _as_postgres(
                    [
                        str(_postgres_bin() / "pg_ctl"),
                        "-D",
                        str(self.pg_data),
                        "-m",
                        "immediate",
                        "stop",
                    ]
                ),
                capture_output=True,
            )
        shutil.rmtree(self.pg_data.parent, ignore_errors=True)

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return process.returncode if process else 0
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> subprocess.Popen:
        log = (self.base / "logs" / f"{name}.log").open("a")
        process = subprocess.Popen(
            command, cwd=cwd, env=env or self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.processes[name] = process
        return process

    # -- PostgreSQL --------------------------------------------------------------------------
    def start_postgres(self, init: bool = False) -> None:
        data = self.pg_data
        bindir = _postgres_bin()
        if init:
            data.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(data.parent, "postgres", "postgres")
                shutil.chown(data, "postgres", "postgres")
            subprocess.run(
                _as_postgres(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-sync",
                    ]
                ),
                check=True,
                capture_output=True,
            )
        command = [
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(self.pg_port),
            "-h",
            "127.0.0.1",
            "-k",
            str(data),
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]
        self._spawn("postgres", _as_postgres(command), env=dict(os.environ))
        _wait(lambda: _connects(self.pg_port), 30, "PostgreSQL")
        if init:
            _wait(self._create_database, 30, "the kadosei database")

    def _create_database(self) -> bool:
        done = subprocess.run(
            [
                str(_postgres_bin() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE kadosei",
            ],
            capture_output=True,
        )
        return done.returncode == 0

    def stop_postgres(self) -> None:
        """A fast shutdown (connections cut, nothing lost), as a restart or failover does."""
        subprocess.run(
            _as_postgres(
                [str(_postgres_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "stop"]
            ),
            capture_output=True,
            timeout=60,
        )
        self.stop_process("postgres", timeout=30)

    def restart_postgres(self, down_for: float = 0.0) -> None:
        """Stop PostgreSQL, wait ``down_for`` seconds, start it again."""
        self.stop_postgres()
        time.sleep(down_for)
        self.start_postgres()

    # -- Redis -------------------------------------------------------------------------------
    def start_redis(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.base),
        ]
        self._spawn("redis", command, env=dict(os.environ))
        _wait(lambda: _connects(self.redis_port), 15, "Redis")

    def kill_redis(self) -> None:
        self.stop_process("redis", signal.SIGKILL)

    # -- kadosei -----------------------------------------------------------------------------
    def _migrate(self) -> None:
        subprocess.run(
            [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            env=self.env(),
            check=True,
            capture_output=True,
        )

    def start_instance(self, index: int) -> None:
        metrics = self.base / f"metrics-{index}"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir()
        command = [
            str(BIN / "gunicorn"),
            "wsgi:app",
            "--bind",
            f"127.0.0.1:{self.web_ports[index]}",
            "--workers",
            str(self.gunicorn_workers),
            "--threads",
            "4",
            "--no-control-socket",
        ]
        self._spawn(f"web-{index}", command, env=self.env(PROMETHEUS_MULTIPROC_DIR=str(metrics)))

    def start_worker(self, index: int) -> None:
        command = [
            str(BIN / "flask"),
            "--app",
            "app",
            "worker",
            "--sweep-interval",
            str(self.sweep_interval),
        ]
        port = str(self.worker_metrics_ports[index])
        self._spawn(f"worker-{index}", command, env=self.env(KADOSEI_WORKER_METRICS_PORT=port))

    # -- nginx -------------------------------------------------------------------------------
    def _certificate(self) -> None:
        tls = self.base / "tls"
        tls.mkdir()
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(tls / "key.pem"),
                "-out",
                str(tls / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )

    @property
    def certificate(self) -> Path:
        return self.base / "tls" / "cert.pem"

    def start_nginx(self) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.base / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        upstreams = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
            for port in self.web_ports
        )
        instance_metrics = "\n".join(
            INSTANCE_METRICS.format(name=f"web-{index}", port=port)
            for index, port in enumerate(self.web_ports)
        )
        conf = NGINX_CONF.format(
            user="user root root;\n" if os.geteuid() == 0 else "",
            dir=self.base,
            upstreams=upstreams,
            instance_metrics=instance_metrics,
            https_port=self.https_port,
            http_port=self.http_port,
        )
        (self.base / "nginx.conf").write_text(conf)
        self._spawn(
            "nginx",
            ["nginx", "-p", str(self.base), "-c", str(self.base / "nginx.conf")],
            env=dict(os.environ),
        )
        _wait(lambda: _connects(self.https_port), 15, "nginx")

    # -- readiness ---------------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60) -> None:
        for index in range(self.instances):
            url = self.instance_url(index) + "/readyz"
            _wait(lambda url=url: _answers(url), timeout, f"instance {index}")
        _wait(lambda: _answers(self.public_url + "/readyz", self.certificate), timeout, "nginx")

    def describe(self) -> str:
        lines = [
            f"kadosei on {self.public_url}  (throwaway certificate: {self.certificate})",
            f"  portal:   {self.public_url}/signup",
            f"  probes:   {self.public_url}/readyz, metrics {self.public_url}/metrics",
        ]
        for index, port in enumerate(self.web_ports):
            lines.append(
                f"  gunicorn instance {index}: 127.0.0.1:{port} ({self.gunicorn_workers} processes)"
            )
        lines += [
            f"  metrics of instance N: {self.public_url}/instances/web-N/metrics",
            f"  workers:  {self.workers}, metrics on "
            + ", ".join(f"127.0.0.1:{port}" for port in self.worker_metrics_ports),
            f"  PostgreSQL: {self.database_url}",
            f"  Redis:      {self.redis_url}",
            f"  logs:       {self.base / 'logs'}",
        ]
        return "\n".join(lines)


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _answers(url: str, cafile: Path | None = None) -> bool:
    if not url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
        raise ValueError(f"not one of the cluster's own addresses: {url}")
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "kadosei-cluster"))
    args = parser.parse_args(argv)
    if not (BIN / "gunicorn").exists():
        print("No .venv yet: run `python3 dev.py test` (or start) first.", file=sys.stderr)
        return 2
    cluster = Cluster(Path(args.dir))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        cluster.start()
        print(cluster.describe(), flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            for name, process in list(cluster.processes.items()):
                if process.poll() is not None:
                    print(f"{name} exited ({process.returncode}); see its log", flush=True)
                    cluster.processes.pop(name)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        print(json.dumps({"stopped": str(args.dir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
