"""A worker's delivery pool: many webhook deliveries in flight, none able to clog the others.

One dispatcher thread claims due deliveries from the database (``claims``: fair across
endpoints, at most ``KADOSEI_WEBHOOK_PER_ENDPOINT`` in flight to each from all the workers'
pools together) for the delivery threads, ``KADOSEI_WEBHOOK_CONCURRENCY`` of them, keeping as
many claims again ready so that a thread that finishes a try starts the next at once. The
delivery threads only send; one recorder thread records what came of the tries, as many as have
finished at once in one transaction (a try costs less of the worker's CPU that way, and the
CPU, not the network, is what bounds a worker sending to fast receivers). A slow, hanging or
black-holed receiver holds its own few slots; everyone else's deliveries go past it.

The database is the queue: the dispatcher claims when the outbox announces new deliveries (Redis
publish), when a delivery thread finishes, and at least every ``POLL_SECONDS`` — so retries that
come due, deliveries whose announcement was lost and those a dead worker held (its lease ran
out) are all picked up without any job in Redis.

Stopping (SIGTERM) is graceful: no new claims, the tries in progress finish and are recorded
(the recorder stops last), claims not yet started are handed back at once. A worker killed
outright loses nothing either: its leases lapse and another worker claims those deliveries
again (at least once).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import redis
from flask import Flask, current_app

from kadosei.extensions import db
from kadosei.jobs.queue import redis_connection
from kadosei.metrics import WEBHOOK_DELIVERY_THREADS
from kadosei.webhooks.claims import claim_due_deliveries, release_claims
from kadosei.webhooks.delivery import Claim, Tried, make_try, record_tries, send_claimed
from kadosei.webhooks.outbox import deliveries_channel

log = logging.getLogger("kadosei.webhooks")

RECORD_GRACE = 5.0  # how long a stopping pool waits for the last tries to be recorded
POLL_SECONDS = 1.0  # the longest a due delivery waits unannounced before a pool looks for it
ROUND_GAP = 0.005  # let a few delivery threads free up, so each claim takes several at once
RECORD_BATCH = 64  # the most tries recorded in one transaction


class DeliveryPool:
    """The delivery threads of one worker process, fed by one dispatcher; ``start``/``stop``."""

    def __init__(
        self, app: Flask, *, concurrency: int | None = None, per_endpoint: int | None = None
    ):
        self.app = app
        self.size = concurrency or app.config["KADOSEI_WEBHOOK_CONCURRENCY"]
        self.per_endpoint = per_endpoint or app.config["KADOSEI_WEBHOOK_PER_ENDPOINT"]
        # Claims kept ready beyond the threads' own: a thread that finishes a try starts the
        # next at once instead of waiting for the dispatcher's next round.
        self.ready_ahead = self.size
        self._claims: queue.SimpleQueue[Claim | None] = queue.SimpleQueue()
        self._tried: queue.SimpleQueue[Tried | None] = queue.SimpleQueue()
        self._outstanding = 0  # claims handed to the delivery threads and not yet recorded
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._started = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="webhook-dispatch")
        self._listener = threading.Thread(target=self._listen, name="webhook-listen")
        self._recorder = threading.Thread(target=self._record, name="webhook-record")
        self._senders = [
            threading.Thread(target=self._send, name=f"webhook-send-{n}") for n in range(self.size)
        ]
        for thread in (self._dispatcher, self._listener, self._recorder, *self._senders):
            thread.daemon = True  # a stuck thread never keeps a stopped worker alive

    def start(self) -> DeliveryPool:
        self._started = True
        WEBHOOK_DELIVERY_THREADS.inc(self.size)
        for thread in (self._recorder, *self._senders, self._listener, self._dispatcher):
            thread.start()
        self._wake.set()  # claim what is due right away: nothing waits for a worker restart
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, hand back claims not yet started, let the tries in flight finish
        (at most ``timeout`` s; by default as long as one try may take, with some margin)."""
        if not self._started:
            return
        self._started = False
        if timeout is None:
            timeout = 2 * self.app.config["KADOSEI_WEBHOOK_TIMEOUT"] + 5
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        self._dispatcher.join(timeout)
        self._hand_back_unstarted()
        for _ in self._senders:
            self._claims.put(None)
        for thread in self._senders:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._tried.put(None)  # after every try that finished in time
        self._recorder.join(max(0.0, deadline - time.monotonic()) + RECORD_GRACE)
        self._listener.join(max(0.0, min(POLL_SECONDS + 1, deadline - time.monotonic())))
        WEBHOOK_DELIVERY_THREADS.dec(self.size)
        busy = sum(thread.is_alive() for thread in self._senders)
        if self._recorder.is_alive():
            log.warning("webhook tries still being recorded at stop; their leases will lapse")
        if busy:
            log.warning("%d webhook tries still in flight at stop; their leases will lapse", busy)

    def _dispatch(self) -> None:
        with self.app.app_context():
            while not self._stopping.is_set():
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                self._claim_round()
                time.sleep(ROUND_GAP)

    def _claim_round(self) -> None:
        with self._lock:
            free = self.size + self.ready_ahead - self._outstanding
        if free <= 0:
            return
        try:
            claims = claim_due_deliveries(free, self.per_endpoint)
        except Exception:
            log.exception("could not claim webhook deliveries (trying again)")
            db.session.rollback()
            self._stopping.wait(POLL_SECONDS)
            return
        finally:
            db.session.remove()
        with self._lock:
            self._outstanding += len(claims)
        for claim in claims:
            self._claims.put(claim)

    def _send(self) -> None:
        with self.app.app_context():
            while (claim := self._claims.get()) is not None:
                try:
                    self._tried.put(send_claimed(claim))
                except Exception:
                    log.exception("webhook %s: the try failed", claim.delivery_id)
                    self._done(1)  # its lease lapses and it is tried again

    def _record(self) -> None:
        """Record finished tries, all those waiting at once (up to ``RECORD_BATCH``)."""
        with self.app.app_context():
            stopping = False
            while not stopping and (first := self._tried.get()) is not None:
                batch = [first]
                while len(batch) < RECORD_BATCH:
                    try:
                        tried = self._tried.get_nowait()
                    except queue.Empty:
                        break
                    if tried is None:
                        stopping = True
                        break
                    batch.append(tried)
                try:
                    record_tries(batch)
                except Exception:
                    # Their leases lapse and they are sent again (at least once).
                    log.exception("could not record %d webhook tries", len(batch))
                finally:
                    db.session.remove()
                    self._done(len(batch))

    def _done(self, count: int) -> None:
        with self._lock:
            self._outstanding -= count
        self._wake.set()

    def _hand_back_unstarted(self) -> None:
        unstarted: list[Claim] = []
        while True:
            try:
                claim = self._claims.get_nowait()
            except queue.Empty:
                break
            if claim is not None:
                unstarted.append(claim)
        if not unstarted:
            return
        with self.app.app_context():
            try:
                release_claims(unstarted)
            except Exception:
                log.exception("could not hand back %d webhook claims", len(unstarted))
            finally:
                db.session.remove()

    def _listen(self) -> None:
        """Wake the dispatcher whenever the outbox announces new deliveries."""
        channel = deliveries_channel(self.app)
        while not self._stopping.is_set():
            subscription = None
            try:
                subscription = redis_connection(self.app).pubsub(ignore_subscribe_messages=True)
                subscription.subscribe(channel)
                while not self._stopping.is_set():
                    if subscription.get_message(timeout=POLL_SECONDS) is not None:
                        self._wake.set()
            except redis.RedisError:
                self._stopping.wait(POLL_SECONDS)  # the dispatcher polls meanwhile
            finally:
                if subscription is not None:
                    subscription.close()


def deliver_due_deliveries() -> int:
    """Send every delivery due now, one after another in this thread (a burst worker, and
    tests); returns how many tries were made. Retries that are not due yet are left."""
    config = current_app.config
    tries = 0
    while claims := claim_due_deliveries(
        config["KADOSEI_WEBHOOK_CONCURRENCY"], config["KADOSEI_WEBHOOK_PER_ENDPOINT"]
    ):
        for claim in claims:
            make_try(claim)
            tries += 1
    return tries
