#!/usr/bin/env python3
"""Run kadosei locally, or its tests, from a fresh machine with only Python.

    python3 dev.py start   # virtualenv + install + migrate, then the whole thing on :5000
    python3 dev.py test    # virtualenv + install, then the test suite (extra args go to pytest)

Standard library only: it is what runs before the dependencies exist.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def ensure_environment() -> None:
    """Create the virtualenv and install the pinned requirements when they changed."""
    if not PYTHON.exists():
        print("Creating the virtualenv in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("Installing requirements …", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        STAMP.write_text(wanted)


def flask(*args: str) -> list[str]:
    return [str(PYTHON), "-m", "flask", "--app", "app", *args]


def start(port: int = 5000) -> int:
    env = {
        **os.environ,
        "KADOSEI_ENV": os.environ.get("KADOSEI_ENV", "development"),
        "KADOSEI_PUBLIC_URL": os.environ.get("KADOSEI_PUBLIC_URL", f"http://127.0.0.1:{port}"),
        "KADOSEI_WEBHOOK_ALLOW_PRIVATE": os.environ.get("KADOSEI_WEBHOOK_ALLOW_PRIVATE", "1"),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(flask("db", "upgrade"), check=True, cwd=ROOT, env=env)
    children = [
        subprocess.Popen(flask("worker"), cwd=ROOT, env=env),
        subprocess.Popen(
            flask("run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"),
            cwd=ROOT,
            env=env,
        ),
    ]
    print(
        f"\n  kadosei is starting on http://127.0.0.1:{port}  (portal, API, checkout, sandbox)\n"
        "  plus a webhook/jobs worker with the embedded queue. Ctrl-C stops everything.\n",
        flush=True,
    )
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return max((child.returncode or 0) for child in children)


def chromium_missing() -> str | None:
    """Why tests/browser cannot run here (the same check as tests/browser/browser_support.py)."""
    chromium = os.environ.get("KADOSEI_CHROMIUM", "/usr/bin/chromium")
    if os.access(chromium, os.X_OK):
        return None
    return f"no Chromium at {chromium} (apt-get install chromium, or set KADOSEI_CHROMIUM)"


def test(args: list[str]) -> int:
    code = subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode
    missing = chromium_missing()
    if missing:
        # Said last, where nobody misses it: a green run did not include the browser tests.
        print(f"\n  NOTE: the browser tests (tests/browser) were SKIPPED: {missing}.\n", flush=True)
    return code


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "start"
    if command not in {"start", "test"}:
        print(__doc__)
        return 2
    ensure_environment()
    return start() if command == "start" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
