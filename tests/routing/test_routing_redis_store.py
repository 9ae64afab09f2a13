"""The shared Redis store: same learning as memory, no lost updates, graceful when down."""

from __future__ import annotations

import multiprocessing
import random
import threading

import redis

from kadosei.routing import MemoryStore, Router
from kadosei.routing.redis_store import RedisStore

CTX = {"payment_method": "card", "currency": "EUR", "amount": 1000, "mode": "live"}
CANDS = [{"provider": p, "fee_percent": 1.0, "fee_fixed": 10} for p in ("a", "b", "c")]


def _count(store: RedisStore, provider: str) -> float:
    router = Router(store=store)
    keys, breaker_key = router.segment_keys(CTX)
    levels, _ = store.read(keys, breaker_key, [provider])
    return levels[-1][1][provider][1]  # slow evidence (records, decayed per segment record)


def _no_decay_params():
    from dataclasses import replace

    from kadosei.routing import Params

    return replace(Params(), slow_gamma=1.0, change_threshold=1e9)


def test_redis_store_learns_exactly_like_the_memory_store(redis_client):
    memory = Router(seed=3, store=MemoryStore())
    shared = Router(seed=3, store=RedisStore(redis_client, "test:routing:"))
    rng = random.Random(1)
    for i in range(800):
        ctx = {**CTX, "payment_method": rng.choice(["card", "wallet"])}
        now = i * 0.3
        a, b = memory.rank(ctx, CANDS, now=now), shared.rank(ctx, CANDS, now=now)
        assert list(a) == list(b)
        outage = a[0] == "a" and 300 < i < 420
        outcome = "error" if outage else ("succeeded" if rng.random() < 0.9 else "failed")
        memory.record(ctx, a[0], outcome, now=now)
        shared.record(ctx, a[0], outcome, now=now)
    names = ["a", "b", "c"]
    assert memory.provider_status(CTX, names, now=240.0) == shared.provider_status(
        CTX, names, now=240.0
    )


def test_concurrent_records_from_threads_lose_no_counts(redis_client):
    params = _no_decay_params()
    store = RedisStore(redis_client, "test:threads:")

    def work(n: int) -> None:
        router = Router(store=store, params=params)
        for i in range(n):
            router.record(CTX, "a", "succeeded" if i % 2 else "failed", now=float(i))

    threads = [threading.Thread(target=work, args=(150,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(store, "a") == 900.0


def _process_worker(url: str, n: int) -> None:
    client = redis.Redis.from_url(url)
    router = Router(store=RedisStore(client, "test:procs:"), params=_no_decay_params())
    for i in range(n):
        router.record(CTX, "a", "succeeded", now=float(i))
    client.close()


def test_concurrent_records_from_processes_lose_no_counts(redis_client):
    kwargs = redis_client.connection_pool.connection_kwargs
    host, port = kwargs.get("host", "127.0.0.1"), kwargs.get("port", 6379)
    url = f"redis://{host}:{port}/{kwargs.get('db', 0)}"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_worker, args=(url, 100)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert _count(RedisStore(redis_client, "test:procs:"), "a") == 400.0


def test_keys_expire_when_idle(redis_client):
    router = Router(store=RedisStore(redis_client, "test:ttl:"))
    router.record(CTX, "a", "succeeded", now=1.0)
    keys = redis_client.keys("test:ttl:*")
    assert keys
    assert all(0 < redis_client.ttl(k) <= router.params.ttl_seconds for k in keys)


def test_only_one_process_wins_a_half_open_probe(redis_client):
    routers = [Router(seed=i, store=RedisStore(redis_client, "test:probe:")) for i in range(3)]
    for i in range(50):
        routers[0].record(CTX, "a", "succeeded", now=float(i))
    routers[0].record(CTX, "a", "error", now=50.0)
    routers[0].record(CTX, "a", "error", now=50.0)
    t = 50.0 + routers[0].params.breaker_cooldown + 1
    firsts = [r.rank(CTX, CANDS, now=t) for r in routers]
    assert sum(1 for f in firsts if f[0] == "a" and f.reason == "probe") == 1


def test_ranking_falls_back_to_a_safe_order_when_redis_is_down():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    router = Router(store=RedisStore(dead, "x:"))
    cands = [
        {"provider": "dear", "fee_percent": 2.9, "fee_fixed": 30},
        {"provider": "nofee", "fee_percent": None, "fee_fixed": None},
        {"provider": "cheap", "fee_percent": 1.0, "fee_fixed": 10},
    ]
    ranked = router.rank(CTX, cands, now=1.0)
    assert list(ranked) == ["cheap", "dear", "nofee"]
    assert ranked.reason == "store_unavailable"
    assert ranked.explanation["reason"] == "store_unavailable"
