"""The four scenarios, each run against every system that can take part.
Every function returns a JSON-ready dict per system; run.py writes one
result file per scenario."""

import math
import threading
import time

from . import latency
from .engines import Herald, Nchan, NodeWs, Pushpin
from .generator import Clients, HttpPublisher, WsPublisher, publish
from .database import seed_herald
from .procstat import CpuMeter, tree_rss_bytes

# A step counts as sustained when nearly everything arrived within the
# drain time after it and the 99th percentile stayed under this.
P99_LIMIT_MS = 50.0
DELIVERED_FRACTION = 0.99
# Rates keep rising past the first unsustained step while everything still
# arrives and p99 stays under this: throughput regardless of latency.
P99_GIVE_UP_MS = 1000.0


# Herald as it ships (CAF's work-sharing scheduler), and Herald with CAF's
# work-stealing scheduler, the default before (an operator setting, no code
# change): docs/performance.md says why both are measured.
HERALD_VARIANTS = {"herald": [],
                   "herald-stealing": ["--scheduler.policy=stealing"]}


def is_herald(system):
    return system in HERALD_VARIANTS


class Context:
    """Where things are and how big to make them (see run.py)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def log(self, text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# -- starting systems --------------------------------------------------------

def start_system(ctx, system, scenario, users, subscribers, with_db=False):
    """(engine, secret, database URL) with a fresh database of its own."""
    db = f"bench_{scenario}_{system.replace('-', '_')}"
    url = ctx.cluster.fresh_database(db)
    if is_herald(system):
        engine = Herald(ctx.heraldd, ctx.repo, url, ctx.port,
                        [*getattr(ctx, "herald_args", ()),
                         *HERALD_VARIANTS[system]])
        if not engine.wait_ready():
            engine.stop()
            raise RuntimeError("heraldd never became ready")
        secret = seed_herald(ctx.cluster, db, users, subscribers,
                             port=engine.port)
        if not engine.wait_app(secret):
            engine.stop()
            raise RuntimeError("heraldd never loaded the bench app")
        return engine, secret, url
    if system in ("nchan", "pushpin") and with_db:
        raise Unsupported(f"{system} takes messages over HTTP only; from "
                          "PostgreSQL it needs a bridge, which is what the "
                          "node-ws peer is")
    if system == "pushpin":
        return Pushpin(ctx.pushpin_source, ctx.pushpin_folder,
                       (ctx.port or 18200) + 3), "", url
    if system == "nchan":
        return Nchan(ctx.nchan_template, ctx.nchan_folder,
                     (ctx.port or 18200) + 2), "", url
    engine = NodeWs(ctx.node_folder, (ctx.port or 18200) + 1,
                    ctx.cluster if with_db else None, db)
    return engine, "", url


class Unsupported(Exception):
    """The system cannot take part in this scenario; the text says why."""


def connect(ctx, system, engine, secret, count, timeout=180, dedup=False):
    """dedup: plain WebSocket clients fed by one publisher drop replays."""
    proto = ("herald" if is_herald(system)
             else "sse" if system == "pushpin" else "ws")
    clients = Clients(ctx.bench, f"127.0.0.1:{engine.port}", proto, count,
                      secret=secret, path=engine.sub_path,
                      extra=["--dedup=1"] if dedup else [])
    ms = clients.wait_ready(timeout)
    if ms is None:
        st = clients.stats()
        clients.stop()
        raise RuntimeError(f"only {st['ready']} of {count} clients connected")
    return clients, ms


def _stamped(st):
    return {k: st[k] for k in ("received", "duplicates", "closes",
                               "errors", "reconnects")}


# -- 1. idle -----------------------------------------------------------------

def idle(ctx, system):
    n = ctx.idle_connections
    engine, secret, _ = start_system(ctx, system, "idle", n, 0)
    try:
        time.sleep(1)
        before = tree_rss_bytes(engine.pids())
        # What the server burns with no client at all, to tell per-connection
        # costs from its own timers and pollers.
        meter = CpuMeter(engine.pids(), time.monotonic)
        time.sleep(min(3, ctx.idle_seconds))
        cores_empty = meter.cores()
        clients, ms = connect(ctx, system, engine, secret, n)
        try:
            time.sleep(2)  # let the connection bursts' buffers settle
            after = tree_rss_bytes(engine.pids())
            meter = CpuMeter(engine.pids(), time.monotonic)
            time.sleep(ctx.idle_seconds)
            cores = meter.cores()
            after_hold = tree_rss_bytes(engine.pids())
            st = clients.stats()
        finally:
            clients.stop()
    finally:
        engine.stop()
    return {
        "connections": n, "ready": st["ready"],
        "connect_seconds": ms / 1000.0,
        "connects_per_second": n / (ms / 1000.0) if ms else None,
        "engine_rss_before_mb": before / 2**20,
        "engine_rss_after_mb": after / 2**20,
        "engine_rss_after_hold_mb": after_hold / 2**20,
        "bytes_per_connection": (max(after, after_hold) - before) / n,
        "idle_cpu_percent": cores * 100.0,
        "idle_cpu_percent_without_clients": cores_empty * 100.0,
        "hold_seconds": ctx.idle_seconds,
        "counters": _stamped(st),
    }


# -- 2. fan-out --------------------------------------------------------------

def fanout(ctx, system):
    k = ctx.fanout_subscribers
    engine, secret, url = start_system(ctx, system, "fanout", k, k)
    steps = []
    publisher = None
    try:
        clients, _ = connect(ctx, system, engine, secret, k,
                             dedup=not is_herald(system))
        try:
            publisher = _peer_publisher(ctx, system, engine)
            for target in ctx.fanout_deliveries:
                rate = target / k
                clients.reset()
                meter = CpuMeter(engine.pids(), time.monotonic)
                if is_herald(system):
                    pub = publish(ctx.bench, url, "herald", rate,
                                  ctx.step_seconds, target="topic:all")
                else:
                    pub = publisher.run(rate, ctx.step_seconds)
                expected = pub["count"] * k
                st = clients.wait_received(expected, ctx.drain_seconds)
                cores = meter.cores()
                step = _step(rate, pub, expected, st, cores, ctx)
                step["deliveries_offered_per_s"] = rate * k
                steps.append(step)
                ctx.log(f"  fanout {system} {rate:g}/s x {k}: "
                        f"{step['delivered']}/{expected} "
                        f"p99 {step['latency']['p99_ms']} ms "
                        f"cpu {step['engine_cpu_percent']:.0f}%")
                if not step["keeps_up"]:
                    break
        finally:
            if publisher:
                publisher.stop()
            clients.stop()
    finally:
        engine.stop()
    best = [s for s in steps if s["sustained"]]
    return {
        "subscribers": k,
        "steps": steps,
        "max_sustained_deliveries_per_s":
            max((s["deliveries_per_s"] for s in best), default=0),
        "max_deliveries_per_s_any_latency":
            max((s["deliveries_per_s"] for s in steps
                 if s["all_delivered"]), default=0),
        "latency_at_max": best[-1]["latency"] if best else None,
        "histogram_at_max": best[-1]["histogram"] if best else None,
        "engine_cpu_percent_at_max":
            best[-1]["engine_cpu_percent"] if best else None,
    }


def _peer_publisher(ctx, system, engine):
    """What publishes to a peer: None for Herald (it takes the database)."""
    if is_herald(system):
        return None
    if system == "pushpin":
        return HttpPublisher(engine.publish_port)
    return WsPublisher(ctx.bench, f"127.0.0.1:{engine.port}", engine.pub_path)


def _step(rate, pub, expected, st, cores, ctx):
    lat = latency.summary(st["latency"])
    delivered = min(st["received"], expected)
    # The writers kept to their schedule: everything sent, and the last
    # one not long after it was due.
    on_time = (pub["count"] >= 0.95 * int(rate * ctx.step_seconds)
               and pub["seconds"] <= ctx.step_seconds * 1.1 + 0.5)
    sustained = (expected > 0
                 and delivered >= DELIVERED_FRACTION * expected
                 and on_time
                 and lat["p99_ms"] is not None
                 and lat["p99_ms"] <= P99_LIMIT_MS)
    all_delivered = (expected > 0
                     and delivered >= DELIVERED_FRACTION * expected
                     and on_time)
    return {
        "all_delivered": all_delivered,
        "keeps_up": all_delivered and lat["p99_ms"] is not None
        and lat["p99_ms"] <= P99_GIVE_UP_MS,
        "publish_rate": rate,
        "published": pub["count"],
        "publish_rate_reached": pub["rate"],
        "expected": expected,
        "delivered": delivered,
        "deliveries_per_s": delivered / ctx.step_seconds,
        "latency": lat,
        "histogram": latency.compact(st["latency"]),
        "engine_cpu_percent": cores * 100.0,
        "sustained": sustained,
        "counters": _stamped(st),
    }


# -- 3. database to browser --------------------------------------------------

def database(ctx, system):
    u = ctx.db_users
    engine, secret, url = start_system(ctx, system, "database", u, 0,
                                       with_db=True)
    mode = "herald" if is_herald(system) else "notify"
    steps = []
    try:
        clients, _ = connect(ctx, system, engine, secret, u)
        try:
            for rate in ctx.db_rates:
                clients.reset()
                meter = CpuMeter(engine.pids(), time.monotonic)
                # A writer waits for each commit (2-3 ms for a durable
                # herald.publish here): enough of them that the writers are
                # not what limits the rate.
                writers = max(1, min(32, math.ceil(rate / 200)))
                pub = publish(ctx.bench, url, mode, rate, ctx.step_seconds,
                              users=u, writers=writers)
                st = clients.wait_received(pub["count"], ctx.drain_seconds)
                cores = meter.cores()
                step = _step(rate, pub, pub["count"], st, cores, ctx)
                step["writers"] = writers
                step["statement_latency"] = latency.summary(pub["statement"])
                steps.append(step)
                ctx.log(f"  database {system} {rate}/s: "
                        f"{step['delivered']}/{pub['count']} "
                        f"p50 {step['latency']['p50_ms']} "
                        f"p99 {step['latency']['p99_ms']} ms")
                # The target rate is always measured; past it, rates rise
                # while the system keeps up.
                if not step["keeps_up"] and rate >= ctx.db_target:
                    break
            bulk = _bulk(ctx, system, clients, url)
        finally:
            clients.stop()
    finally:
        engine.stop()
    best = [s for s in steps if s["sustained"]]
    at_target = next((s for s in steps if s["publish_rate"] == ctx.db_target),
                     None)
    return {
        "users": u, "steps": steps,
        "max_sustained_rate": max((s["publish_rate"] for s in best),
                                  default=0),
        "max_rate_any_latency": max((s["publish_rate"] for s in steps
                                     if s["all_delivered"]), default=0),
        "at_target_rate": at_target and {
            "rate": ctx.db_target, "latency": at_target["latency"],
            "rate_reached": at_target["publish_rate_reached"],
            "histogram": at_target["histogram"],
            "sustained": at_target["sustained"]},
        "bulk": bulk,
    }


def _bulk(ctx, system, clients, url):
    """One transaction commits ctx.bulk_messages messages at once; how fast
    the system takes them in (Herald: outbox rows expanded) and hands them
    to the clients, counted from the moment COMMIT is sent."""
    m, u = ctx.bulk_messages, ctx.db_users
    db = url.split("///", 1)[1].split("?", 1)[0]
    stamp = "(extract(epoch from clock_timestamp()) * 1e6)::bigint"
    if is_herald(system):
        insert = (f"SELECT count(herald.publish('bench', 'note', "
                  f"'user:u' || (g % {u}), jsonb_build_object('bench_t', "
                  f"{stamp}, 'bench_n', g))) FROM generate_series(1, {m}) g")
    else:
        insert = (f"SELECT count(pg_notify('bench', json_build_object("
                  f"'bench_t', {stamp}, 'bench_n', g, 'user', "
                  f"'u' || (g % {u}))::text)) FROM generate_series(1, {m}) g")
    clients.reset()
    lines = ctx.cluster.script(
        db, f"BEGIN;\n{insert};\nSELECT {stamp};\nCOMMIT;\n")
    commit_sent = int(lines[-1]) / 1e6
    ingested = None
    if is_herald(system):
        while time.time() - commit_sent < 120:
            pending = int(ctx.cluster.psql(
                db, "SELECT count(*) FROM herald.outbox "
                    "WHERE state = 'pending'"))
            if pending == 0:
                ingested = time.time() - commit_sent
                break
            time.sleep(0.02)
    st = clients.wait_received(m, 120)
    delivered = st["last_arrival_us"] / 1e6 - commit_sent
    return {
        "messages": m,
        "ingest_seconds": ingested,
        "ingested_per_s": (m / ingested) if ingested else None,
        "delivered": st["received"],
        "deliver_seconds": delivered,
        "delivered_per_s": st["received"] / delivered if delivered > 0
        else None,
    }


# -- 4. reconnect storm ------------------------------------------------------

def storm(ctx, system):
    n = ctx.storm_connections
    engine, secret, url = start_system(ctx, system, "storm", n, n)
    publisher = None
    try:
        clients, _ = connect(ctx, system, engine, secret, n,
                             dedup=not is_herald(system))
        try:
            publisher = _peer_publisher(ctx, system, engine)
            result = {}

            def run_publisher():
                if is_herald(system):
                    result["pub"] = publish(ctx.bench, url, "herald",
                                            ctx.storm_rate,
                                            ctx.storm_seconds,
                                            target="topic:all")
                else:
                    result["pub"] = publisher.run(ctx.storm_rate,
                                                  ctx.storm_seconds)
            thread = threading.Thread(target=run_publisher)
            thread.start()
            time.sleep(ctx.storm_seconds / 3)
            clients.broadcast("drop")
            resumed_ms = clients.wait_ready(120)
            thread.join()
            m = result["pub"]["count"]
            # Every system counts distinct messages; Herald's clients drop
            # a seq at or below the last they have, the peers' count ids.
            key = "received"
            # Herald catches up on what was missed; a peer that lost
            # messages never will, so stop once nothing arrives any more.
            st = clients.wait_received(n * m, 60, key=key, stall=5)
        finally:
            if publisher:
                publisher.stop()
            clients.stop()
    finally:
        engine.stop()
    got = min(st[key], n * m)
    return {
        "connections": n, "published": m,
        "expected_deliveries": n * m,
        "resume_seconds": resumed_ms / 1000.0 if resumed_ms is not None
        else None,
        "resumed": resumed_ms is not None,
        "lost": n * m - got,
        "counters": _stamped(st),
        "latency": latency.summary(st["latency"]),
    }


SCENARIOS = {"idle": idle, "fanout": fanout, "database": database,
             "storm": storm}
