"""gunicorn's settings for ``gunicorn wsgi:app`` (read from the working directory by default).

Trust: gunicorn itself trusts no forwarding header from anyone. Which proxy may say a request
came over HTTPS, and from which client, is kadosei's decision alone (``KADOSEI_PROXY_COUNT``
and werkzeug's ProxyFix, reading ``X-Forwarded-Proto`` / ``X-Forwarded-For`` only). With its
defaults gunicorn would itself believe ``X-Forwarded-Proto`` / ``X-Forwarded-Ssl`` /
``X-Forwarded-Protocol`` from any local client, even with ``KADOSEI_PROXY_COUNT=0``, and take
``SCRIPT_NAME`` (and so the path kadosei routes on) from a request header.

Limits: the request line may be as long as gunicorn allows (8190 bytes), so that longer URLs
reach kadosei, which answers them in its error envelope with an ``X-Request-Id``. What
gunicorn still answers itself, in its own short HTML and before kadosei sees the request, is
what cannot safely be parsed: a request line over 8190 bytes (414), more than 100 header
fields or one over 8190 bytes (431), a malformed request line, method or HTTP version, a
header name or value with a forbidden byte, a repeated or contradictory Content-Length /
Transfer-Encoding (400). A proxy in front usually refuses these first.
"""

# No scheme from headers, no environ overrides from headers, whoever the peer is.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = ""
forwarder_headers = ""
proxy_protocol = "off"

# The largest request line gunicorn accepts; header limits stay at gunicorn's defaults.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# -- Metrics: every worker process writes its samples to one folder, so that /metrics adds up
# all of them whichever process answers the scrape (prometheus_client's multiprocess mode).
# Set here, in the master, before any worker imports kadosei. At each start the files of
# processes that are gone are removed; those of live ones stay: a `flask worker` given the
# same folder keeps its figures in this /metrics across a restart of gunicorn.
import glob  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kadosei-metrics-")


def on_starting(server):
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        if not _alive(stale):
            os.remove(stale)


def _alive(samples_file: str) -> bool:
    """Whether the process that writes ``<kind>_<pid>.db`` still runs."""
    pid = os.path.basename(samples_file)[: -len(".db")].rpartition("_")[2]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, os.environ["PROMETHEUS_MULTIPROC_DIR"])


# -- Graceful shutdown: on SIGTERM the master stops accepting, lets each worker finish the
# requests in flight for up to this many seconds, then stops them.
graceful_timeout = 30
