"""The production topology on this machine (``deploy/cluster.py``): nginx with TLS in front of
two gunicorn instances, two workers, a PostgreSQL and a Redis of the cluster's own (the
machine's servers are left alone). Runs in the PostgreSQL suite run only (``DATABASE_URL``),
where CI has every binary it needs; skipped, saying why, when a binary is missing."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from deploy.cluster import BIN, ROOT, Cluster


def _missing() -> str | None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return "cluster proofs run in the PostgreSQL suite run (set DATABASE_URL)"
    for binary in ("nginx", "redis-server", "openssl", "runuser"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    if not glob.glob("/usr/lib/postgresql/*/bin/postgres"):
        return "PostgreSQL server binaries are not installed"
    return None


def start_cluster(name: str, **options) -> Cluster:
    """A cluster in a folder of its own (kept after the run when ``KADOSEI_KEEP_CLUSTER`` is
    set, to read its logs)."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    cluster = Cluster(Path(tempfile.mkdtemp(prefix=f"kadosei-{name}-")), **options)
    started = time.monotonic()
    cluster.start()
    print(f"\n{name}: cluster up in {time.monotonic() - started:.1f} s")
    return cluster


class Api:
    """A merchant's server: through nginx (TLS), or straight to one gunicorn instance as the
    proxy would (``X-Forwarded-Proto: https``) to choose which instance answers."""

    def __init__(self, cluster: Cluster, secret: str | None = None) -> None:
        self.cluster = cluster
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy, no CA bundle from the environment
        self.http.verify = str(cluster.certificate)
        if secret:
            self.http.headers["Authorization"] = f"Bearer {secret}"

    def url(self, path: str, instance: int | None = None) -> str:
        base = self.cluster.public_url if instance is None else self.cluster.instance_url(instance)
        return base + path

    def request(self, method: str, path: str, instance: int | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if instance is not None:
            headers["X-Forwarded-Proto"] = "https"
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.http.request(method, self.url(path, instance), headers=headers, **kwargs)


def flask_cli(cluster: Cluster, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def merchant_key(cluster: Cluster, email: str) -> tuple[str, str, Api]:
    """A merchant made with the operator CLI, an application and a test key made through the
    management API; returns (application id, key secret, the owner's management client)."""
    password = "cluster proof password"
    flask_cli(
        cluster,
        "create-merchant",
        "--name",
        "Cluster shop",
        "--email",
        email,
        "--password",
        password,
    )
    api = Api(cluster)
    login = api.request("POST", "/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    api.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    application = api.request("POST", "/api/v1/applications", json={"name": "Shop"}).json()
    key = api.request(
        "POST", f"/api/v1/applications/{application['id']}/api_keys", json={"mode": "test"}
    )
    assert key.status_code == 201, key.text
    return application["id"], key.json()["key"], api


def session_body(**overrides) -> dict:
    body = {
        "amount": 1999,
        "currency": "EUR",
        "payment_method": "card",
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
    }
    body.update(overrides)
    return body


def pay_on_the_sandbox(
    cluster: Cluster, session_id: str, *, customer: Api | None = None, come_back: bool = False
):
    """A customer pays the session by card on the sandbox's hosted page, through nginx (TLS).
    With ``come_back`` they follow the provider's redirect to kadosei's return page (which
    confirms with the provider); without, they close the tab on the provider's side and only
    its notification tells kadosei. Returns kadosei's last answer."""
    customer = customer or Api(cluster)  # the customer's browser: cookies, no API key
    hosted = customer.request("GET", f"/checkout/{session_id}")
    assert hosted.status_code == 303, hosted.text[:300]
    path = hosted.headers["Location"].removeprefix(cluster.public_url)
    page = customer.request("GET", path)
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text).group(1)
    paid = customer.request(
        "POST",
        path,
        data={"csrf_token": token, "card_number": "4242424242424242"},
        headers={"Referer": cluster.public_url + path},
    )
    assert paid.status_code in (302, 303), paid.text[:300]
    if not come_back:
        return paid
    back = customer.request("GET", paid.headers["Location"].removeprefix(cluster.public_url))
    assert back.status_code == 303, back.text[:300]
    return back


def wait_for_status(api: Api, path: str, status: str, timeout: float = 60) -> dict:
    """The resource at ``path`` once its ``status`` is ``status``; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = api.request("GET", path)
        current = found.json().get("status") if found.status_code == 200 else found.status_code
        if current == status:
            return found.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never became {status} in {timeout:.0f} s: {current}")
        time.sleep(0.3)


class Receiver:
    """A merchant's webhook receiver on this machine: records every request it gets."""

    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.delay = delay
        self.up = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                message = json.loads(self.rfile.read(length))
                with receiver.lock:
                    receiver.received.append(
                        {
                            "id": self.headers.get("webhook-id"),
                            "at": time.monotonic(),
                            "type": message.get("type"),
                            "object": message.get("data", {}).get("object", {}).get("id"),
                        }
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = 200 if receiver.up else 503
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def ids(self) -> list[str]:
        with self.lock:
            return [entry["id"] for entry in self.received]

    def wait_for(self, count: int, timeout: float) -> float:
        """Seconds until ``count`` distinct ids arrived; fails after ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if len(set(self.ids())) >= count:
                return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"{len(set(self.ids()))} of {count} webhooks in {timeout:.0f} s")

    def close(self) -> None:
        self.server.shutdown()


def add_endpoint(api: Api, app_id: str, url: str) -> dict:
    response = api.request(
        "POST",
        f"/api/v1/applications/{app_id}/webhook_endpoints",
        json={"url": url, "mode": "test"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def stop_cluster(cluster: Cluster) -> None:
    cluster.stop()
    if not os.environ.get("KADOSEI_KEEP_CLUSTER"):
        shutil.rmtree(cluster.base, ignore_errors=True)
    else:
        print(f"\ncluster kept in {cluster.base}")
