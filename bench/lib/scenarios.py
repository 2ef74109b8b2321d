"""The scenarios, each run against every system that can take part.
Every function returns a JSON-ready dict per system; run.py writes one
result file per scenario.

Every measured step starts drained: before it, the clients have had
everything of the step before (a condition with a deadline, not a sleep)
and Herald's outbox has nothing pending; a step that could not drain is
marked so and the next one starts on a fresh database with a freshly
started server. Steps that need a clean log (the bulk transaction,
broadcast, catch-up) always start on one."""

import math
import threading
import time

from . import latency
from .engines import Herald, Nchan, NodeWs, Pushpin
from .generator import (PER_PROCESS, Clients, HttpPublisher, WsPublisher,
                        publish)
from .database import seed_herald, seed_users_sql
from .procstat import (CpuMeter, Meters, machine_us_per_delivery,
                       tree_rss_bytes)

# A step counts as sustained when nearly everything arrived within the
# drain time after it and the 99th percentile stayed under this.
P99_LIMIT_MS = 50.0
DELIVERED_FRACTION = 0.99
# Rates keep rising past the first unsustained step while everything still
# arrives and p99 stays under this: throughput regardless of latency.
P99_GIVE_UP_MS = 1000.0
# A generator process this busy (in cores; each is single-threaded) may
# be what set the pace rather than the system under test.
GENERATOR_BOUND_CORES = 0.9
# Peers lose what they cannot send: once nothing more arrives for this
# long, what is missing is lost, not late.
PEER_STALL_SECONDS = 3


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


def connect(ctx, system, engine, secret, count, timeout=180, dedup=False,
            arrivals=False, processes=1):
    """dedup: plain WebSocket clients fed by one publisher drop replays;
    arrivals: the clients keep each message's serial and arrival time;
    processes: at least this many client processes share the clients."""
    proto = ("herald" if is_herald(system)
             else "sse" if system == "pushpin" else "ws")
    clients = Clients(ctx.bench, f"127.0.0.1:{engine.port}", proto, count,
                      secret=secret, path=engine.sub_path,
                      per_process=min(PER_PROCESS,
                                      -(-count // max(1, processes))),
                      extra=(["--dedup=1"] if dedup else [])
                      + (["--arrivals=1"] if arrivals else []))
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


# -- steps that start drained ----------------------------------------------

class Rig:
    """A system with its clients, startable again on a fresh database: a
    step after one that could not drain starts from scratch rather than
    measuring the backlog of the one before."""

    def __init__(self, ctx, system, scenario, users, subscribers,
                 clients, with_db=False, dedup=False, arrivals=False,
                 processes=1):
        self.ctx, self.system, self.scenario = ctx, system, scenario
        self.users, self.subscribers = users, subscribers
        self.count, self.with_db, self.dedup = clients, with_db, dedup
        self.arrivals, self.processes = arrivals, processes
        self.engine = self.clients = None
        self.starts = 0
        self.start()

    def start(self):
        self.engine, self.secret, self.url = start_system(
            self.ctx, self.system, self.scenario, self.users,
            self.subscribers, with_db=self.with_db)
        self.db = self.url.split("///", 1)[1].split("?", 1)[0]
        self.starts += 1
        try:
            self.clients, self.connect_ms = connect(
                self.ctx, self.system, self.engine, self.secret, self.count,
                dedup=self.dedup, arrivals=self.arrivals,
                processes=self.processes)
        except Exception:
            self.engine.stop()
            raise

    def stop(self):
        if self.clients:
            self.clients.stop()
            self.clients = None
        if self.engine:
            self.engine.stop()
            self.engine = None

    def restart(self):
        self.ctx.log(f"  {self.scenario} {self.system}: starting again on a "
                     "fresh database")
        self.stop()
        self.start()

    def meters(self):
        return Meters(self.engine.pids(), self.ctx.cluster.postmaster_pid(),
                      self.clients.pids())

    def outbox_pending(self):
        if not is_herald(self.system):
            return 0
        return int(self.ctx.cluster.psql(self.db, PENDING_COUNT))

    def settle(self, expected, received, timeout=None):
        """Waits until the clients have `expected` since the last reset
        (they had `received` when the step was judged) and Herald's outbox
        has nothing pending, or the deadline passes. Herald loses nothing,
        so it is waited for to the deadline; a peer's missing messages are
        lost once nothing arrives for PEER_STALL_SECONDS."""
        timeout = timeout or self.ctx.settle_seconds
        t0 = time.monotonic()
        st = self.clients.wait_received(
            expected, timeout,
            stall=None if is_herald(self.system) else PEER_STALL_SECONDS)
        pending = self.outbox_pending()
        while pending and time.monotonic() - t0 < timeout:
            time.sleep(0.1)
            pending = self.outbox_pending()
        if pending:
            st = self.clients.stats()
        complete = st["received"] >= expected
        return {
            # Herald must have it all; a peer has nothing more in flight.
            "drained": pending == 0 and (complete
                                         or not is_herald(self.system)),
            "all_arrived": complete,
            "settle_seconds": time.monotonic() - t0,
            "late": max(0, min(st["received"], expected) - received),
            "outbox_pending": pending,
        }


def _cpu(reading, deliveries):
    """CPU-µs per delivery of the engine, of PostgreSQL and of the clients,
    and whether a generator process was the bound.

    The clients' figure is there because loopback TCP bills a segment's
    transmission and its receive side to whichever process triggers the
    transmission. An engine with Nagle on (Nchan) queues small writes
    behind unacked data, and the client's ACK, sent from its read, pushes
    them out: at 350,000 deliveries/s more than half of nginx's
    transmissions ran in the clients' processes. An engine with
    TCP_NODELAY (Herald) transmits, and runs the receive side, in its own.
    Engine + PostgreSQL + clients is what a delivery cost the machine
    whoever was billed."""
    def per(seconds):
        if seconds is None or not deliveries:
            return None
        return seconds * 1e6 / deliveries
    busiest = reading["generator_busiest_cores"]
    writers = reading["writer_cores"]
    return {
        "engine_cpu_us_per_delivery": per(reading["engine_cpu_seconds"]),
        "postgres_cpu_us_per_delivery": per(reading["postgres_cpu_seconds"]),
        "clients_cpu_us_per_delivery": per(reading.get("clients_cpu_seconds")),
        "generator_busiest_cpu_percent":
            busiest * 100.0 if busiest is not None else None,
        "writers_cpu_percent": writers * 100.0 if writers is not None
        else None,
        "generator_bound": bool(busiest is not None
                                and busiest >= GENERATOR_BOUND_CORES),
        "cpu_window_seconds": reading["wall_seconds"],
    }


# -- 2. fan-out --------------------------------------------------------------

def fanout(ctx, system):
    k = ctx.fanout_subscribers
    # Subscribers over several client processes: one process reading every
    # subscriber was the bound for Nchan from 150,000 deliveries/s (95-97 %
    # of a core); with two, each stays under 65 % up to 350,000/s.
    rig = Rig(ctx, system, "fanout", k, k, k, dedup=not is_herald(system),
              processes=ctx.fanout_processes)
    steps = []
    publisher = None
    stopped = None
    try:
        publisher = _peer_publisher(ctx, system, rig.engine)
        fresh = False
        for target in ctx.fanout_deliveries:
            rate = target / k
            clients = rig.clients
            clients.reset()
            meter = CpuMeter(rig.engine.pids(), time.monotonic)
            meters = rig.meters()
            if is_herald(system):
                pub = publish(ctx.bench, rig.url, "herald", rate,
                              ctx.step_seconds, target="topic:all")
            else:
                pub = publisher.run(rate, ctx.step_seconds)
            expected = pub["count"] * k
            st = clients.wait_received(expected, ctx.drain_seconds)
            cores = meter.cores()
            step = _step(rate, pub, expected, st, cores, ctx)
            step["deliveries_offered_per_s"] = rate * k
            step["fresh_start"] = fresh
            # The next step starts once this one is over; the CPU of the
            # wait counts for this step's deliveries, late ones included.
            step.update(rig.settle(expected, step["delivered"]))
            step.update(_cpu(meters.read(), step["delivered"] + step["late"]))
            steps.append(step)
            ctx.log(f"  fanout {system} {rate:g}/s x {k}: "
                    f"{step['delivered']}/{expected} "
                    f"p99 {step['latency']['p99_ms']} ms "
                    f"cpu {step['engine_cpu_percent']:.0f}% "
                    f"{_fmt_us(step['engine_cpu_us_per_delivery'])} us/delivery"
                    + ("" if step["drained"] else " (did not drain)"))
            if not step["keeps_up"]:
                break
            fresh = not step["drained"]
            if fresh:
                if publisher:
                    publisher.stop()
                rig.restart()
                publisher = _peer_publisher(ctx, system, rig.engine)
    finally:
        if publisher:
            publisher.stop()
        rig.stop()
    best = [s for s in steps if s["sustained"]]
    complete = [s for s in steps if s["all_delivered"]]
    at = complete[-1] if complete else None
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
        # CPU per delivery where the system last delivered everything:
        # comparable across systems on a shared machine, where rates are
        # not.
        "cpu_at_highest_complete": at and {
            "deliveries_offered_per_s": at["deliveries_offered_per_s"],
            "engine_us_per_delivery": at["engine_cpu_us_per_delivery"],
            "postgres_us_per_delivery": at["postgres_cpu_us_per_delivery"],
            "clients_us_per_delivery": at.get("clients_cpu_us_per_delivery"),
            "machine_us_per_delivery": machine_us_per_delivery(at),
            "generator_bound": at["generator_bound"]},
        "generator_bound_steps": [s["deliveries_offered_per_s"]
                                  for s in steps if s["generator_bound"]],
        "undrained_steps": [s["deliveries_offered_per_s"] for s in steps
                            if not s["drained"]],
    }


def _fmt_us(value):
    return "—" if value is None else f"{value:.1f}"


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
    mode = "herald" if is_herald(system) else "notify"
    # Commit -> client is a client's arrival minus the moment the writer's
    # statement returned (its commit): the clients keep each serial's
    # arrival, the writers each serial's commit.
    rig = Rig(ctx, system, "database", u, 0, u, with_db=True, arrivals=True)
    steps = []
    try:
        fresh = False
        for rate in ctx.db_rates:
            clients = rig.clients
            clients.reset()
            meter = CpuMeter(rig.engine.pids(), time.monotonic)
            meters = rig.meters()
            # A writer waits for each commit (2-3 ms for a durable
            # herald.publish here): enough of them that the writers are
            # not what limits the rate.
            writers = max(1, min(32, math.ceil(rate / 200)))
            pub = publish(ctx.bench, rig.url, mode, rate, ctx.step_seconds,
                          users=u, writers=writers)
            st = clients.wait_received(pub["count"], ctx.drain_seconds)
            cores = meter.cores()
            since_commit = _since_commit(pub, clients.arrivals(),
                                         st["latency"])
            step = _step(rate, pub, pub["count"],
                         dict(st, latency=since_commit), cores, ctx)
            # From before the writer's statement (publish and commit) to the
            # client, as every run before this measure reported it.
            step["publish_latency"] = latency.summary(st["latency"])
            step["writers"] = writers
            step["statement_latency"] = latency.summary(pub["statement"])
            # Each writer waits for its commit: with statements this slow,
            # the writers could not have offered the rate, whatever the
            # system did with what it got.
            p50 = step["statement_latency"]["p50_ms"]
            step["writers_bound"] = bool(
                pub["rate"] < 0.99 * rate and p50
                and writers * 1000.0 / p50 < rate)
            step["fresh_start"] = fresh
            step.update(rig.settle(pub["count"], step["delivered"]))
            step.update(_cpu(meters.read(), step["delivered"] + step["late"]))
            steps.append(step)
            ctx.log(f"  database {system} {rate}/s: "
                    f"{step['delivered']}/{pub['count']} "
                    f"p50 {step['latency']['p50_ms']} "
                    f"p99 {step['latency']['p99_ms']} ms"
                    + ("" if step["drained"] else " (did not drain)"))
            # The target rate is always measured; past it, rates rise
            # while the system keeps up.
            if not step["keeps_up"] and rate >= ctx.db_target:
                break
            fresh = not step["drained"]
            if fresh:
                rig.restart()
    finally:
        rig.stop()
    # The bulk transaction needs its own users and a log with nothing of
    # the rate steps in it.
    bulk = _bulk(ctx, system)
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
            "publish_latency": at_target.get("publish_latency"),
            "sustained": at_target["sustained"],
            "engine_us_per_delivery": at_target["engine_cpu_us_per_delivery"],
            "postgres_us_per_delivery":
                at_target["postgres_cpu_us_per_delivery"],
            "writers_cpu_percent": at_target["writers_cpu_percent"]},
        "undrained_steps": [s["publish_rate"] for s in steps
                            if not s["drained"]],
        "bulk": bulk,
    }


def _since_commit(pub, arrivals, like):
    """Histogram (with the buckets of `like`) of each message's arrival
    minus the moment its writer's statement returned, by serial; a serial
    that arrived twice counts its first arrival."""
    commits = dict(zip(pub.get("commit_serials", []),
                       pub.get("commits_at_us", [])))
    return latency.from_values(
        (at - commits[serial] for serial, at in arrivals.items()
         if serial in commits), like)


STAMP = "(extract(epoch from clock_timestamp()) * 1e6)::bigint"

# Herald's pending outbox rows, through the one index that holds them
# (schema/0013 and 0015: it is partial on both conditions).
PENDING_COUNT = ("SELECT count(*) FROM herald.outbox "
                 "WHERE state = 'pending' AND xact_id >= '0'")

# Installed into a benchmark database (never Herald's schema): returns the
# wall clock, in µs, at which no outbox row is pending any more, polling
# from inside the server (a fresh snapshot per statement) every 5 ms, or
# NULL after timeout_s.
WAIT_SETTLED = f"""
CREATE OR REPLACE FUNCTION public.bench_wait_settled(timeout_s float8)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp()
                          + timeout_s * interval '1 second';
BEGIN
  LOOP
    -- The newest row first, by its key: the exact check walks the pending
    -- index, which holds every row expanded since the last vacuum, and
    -- polling with it took a third of a core from the database that the
    -- bulk step measures.
    IF coalesce((SELECT o.state <> 'pending' FROM herald.outbox o
                  ORDER BY o.id DESC LIMIT 1), true) THEN
      IF NOT EXISTS (SELECT 1 FROM herald.outbox
                      WHERE state = 'pending' AND xact_id >= '0') THEN
        RETURN {STAMP};
      END IF;
    END IF;
    IF clock_timestamp() > deadline THEN
      RETURN NULL;
    END IF;
    PERFORM pg_sleep(0.005);
  END LOOP;
END $$;
"""


def _bulk(ctx, system):
    """One transaction commits ctx.bulk_messages personal messages, each
    to a different user, on a fresh database. Herald: how long the
    herald.publish calls take before the COMMIT, how long from the COMMIT
    until every outbox row is expanded (the ingest rate), what the
    database says was expanded (one log entry per message, each on a
    stream of its own), and when the connected users (the first
    ctx.db_users; a client per user of 50,000 would pass the file limit)
    had theirs. Peer: the same notifications, routed to the connected
    users."""
    m, u = ctx.bulk_messages, min(ctx.db_users, ctx.bulk_messages)
    rig = Rig(ctx, system, "bulk", u, 0, u, with_db=True)
    try:
        db = rig.db
        if is_herald(system):
            seed_users_sql(ctx.cluster, db, u, m - u)
            ctx.cluster.script(db, WAIT_SETTLED)
            insert = (f"SELECT count(herald.publish('bench', 'note', "
                      f"'user:u' || (g - 1), jsonb_build_object('bench_t', "
                      f"{STAMP}, 'bench_n', g))) "
                      f"FROM generate_series(1, {m}) g")
            first_id = int(ctx.cluster.psql(
                db, "SELECT coalesce(max(id), 0) FROM herald.outbox"))
        else:
            insert = (f"SELECT count(pg_notify('bench', json_build_object("
                      f"'bench_t', {STAMP}, 'bench_n', g, 'user', "
                      f"'u' || (g - 1))::text)) "
                      f"FROM generate_series(1, {m}) g")
        rig.clients.reset()
        meters = rig.meters()
        settle = "SELECT coalesce(public.bench_wait_settled(300), 0);\n" \
            if is_herald(system) else ""
        lines = ctx.cluster.script(
            db, f"BEGIN;\nSELECT {STAMP};\n{insert};\nSELECT {STAMP};\n"
                f"COMMIT;\nSELECT {STAMP};\n{settle}")
        began, commit_sent, committed = (int(lines[0]) / 1e6,
                                         int(lines[2]) / 1e6,
                                         int(lines[3]) / 1e6)
        expanded_at = (int(lines[4]) / 1e6 or None) if is_herald(system) \
            else None
        st = rig.clients.wait_received(
            u, 120, stall=None if is_herald(system) else PEER_STALL_SECONDS)
        reading = meters.read()
        db_says = None
        if is_herald(system):
            row = ctx.cluster.psql(db, f"""
              SELECT count(*) FILTER (WHERE state = 'processed'),
                     count(*) FILTER (WHERE state = 'rejected'),
                     count(*) FILTER (WHERE state = 'pending'),
                     (SELECT count(*) FROM herald.stream_log l
                       WHERE l.message_id > {first_id}),
                     (SELECT count(DISTINCT l.stream) FROM herald.stream_log l
                       WHERE l.message_id > {first_id})
                FROM herald.outbox WHERE id > {first_id}""").split("|")
            db_says = dict(zip(("processed", "rejected", "pending",
                                "log_entries", "streams"), map(int, row)))
    finally:
        rig.stop()
    expand = expanded_at - commit_sent if expanded_at else None
    deliver = (st["last_arrival_us"] / 1e6 - commit_sent
               if st["last_arrival_us"] else None)
    expanded = db_says["processed"] if db_says else None
    return {
        "messages": m,
        "users": m,
        "connected_users": u,
        "publish_calls_seconds": commit_sent - began,
        "commit_seconds": committed - commit_sent,
        "ingest_seconds": expand,
        "ingested_per_s": (expanded / expand) if expand else None,
        "expanded": db_says,
        # What the connected clients received of their own messages.
        "delivered": st["received"],
        "delivered_expected": u,
        "deliver_seconds": deliver,
        "lost": u - min(st["received"], u),
        "duplicates": st["duplicates"],
        # Everything accounted for: the connected users' messages arrived,
        # and (Herald) the database expanded every message onto a stream
        # of its own.
        "complete": st["received"] >= u and (
            db_says is None or (db_says["processed"] == m
                                and db_says["streams"] == m)),
        "engine_cpu_seconds": reading["engine_cpu_seconds"],
        "postgres_cpu_seconds": reading["postgres_cpu_seconds"],
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


# -- 5. broadcast to the whole app -------------------------------------------

NO_APP_AUDIENCE = ("the peers have no durable audience of an app's users: "
                   "a broadcast reaches whoever is connected at that "
                   "moment (that is the fan-out scenario), and nothing "
                   "is kept for the users who are not")


def broadcast(ctx, system):
    """One herald.publish to the `app` target of an app with
    ctx.broadcast_users users, ctx.broadcast_online of them connected:
    how long the publishing transaction takes to commit, how long until
    the message is expanded (its outbox row processed: one log entry on
    the app's stream, whatever the audience) and until every connected
    client has it."""
    if not is_herald(system):
        raise Unsupported(NO_APP_AUDIENCE)
    n, online = ctx.broadcast_users, ctx.broadcast_online
    engine, secret, url = start_system(ctx, system, "broadcast", online, 0)
    db = url.split("///", 1)[1].split("?", 1)[0]
    clients = None
    try:
        t0 = time.monotonic()
        seed_users_sql(ctx.cluster, db, online, n - online)
        seed_seconds = time.monotonic() - t0
        users = int(ctx.cluster.psql(db, "SELECT count(*) FROM herald.users"))
        ctx.cluster.script(db, WAIT_SETTLED)
        clients, _ = connect(ctx, system, engine, secret, online)
        clients.reset()
        meters = Meters(engine.pids(), ctx.cluster.postmaster_pid(),
                        clients.pids())
        lines = ctx.cluster.script(db, f"""
          BEGIN;
          SELECT {STAMP};
          SELECT herald.publish('bench', 'note', ARRAY['app'],
                                jsonb_build_object('bench_t', {STAMP},
                                                   'bench_n', 1));
          SELECT {STAMP};
          COMMIT;
          SELECT {STAMP};
          SELECT coalesce(public.bench_wait_settled(60), 0);
        """)
        began, message_id, commit_sent, committed = (
            int(lines[0]) / 1e6, int(lines[1]), int(lines[2]) / 1e6,
            int(lines[3]) / 1e6)
        expanded_at = int(lines[4]) / 1e6 or None
        st = clients.wait_received(online, 60)
        reading = meters.read()
        row = ctx.cluster.psql(db, f"""
          SELECT o.state, (SELECT count(*) FROM herald.stream_log l
                            WHERE l.message_id = o.id)
            FROM herald.outbox o WHERE o.id = {message_id}""").split("|")
    finally:
        if clients:
            clients.stop()
        engine.stop()
    return {
        "users": users,
        "online": online,
        "seed_seconds": seed_seconds,
        # From BEGIN to COMMIT returned: the publish call and the commit.
        "transaction_seconds": committed - began,
        "commit_seconds": committed - commit_sent,
        "expanded_seconds": (expanded_at - commit_sent) if expanded_at
        else None,
        "state": row[0],
        "log_entries": int(row[1]),
        "received": st["received"],
        "duplicates": st["duplicates"],
        "lost": online - min(st["received"], online),
        "first_online_seconds": (st["first_arrival_us"] / 1e6 - commit_sent
                                 if st["first_arrival_us"] else None),
        "all_online_seconds": (st["last_arrival_us"] / 1e6 - commit_sent
                               if st["received"] >= online else None),
        "engine_cpu_seconds": reading["engine_cpu_seconds"],
        "postgres_cpu_seconds": reading["postgres_cpu_seconds"],
    }


# -- 6. catch-up after being offline ------------------------------------------

NO_CATCHUP = ("{} keeps no per-user history to resume from with a "
              "position: a client that was offline gets what is sent after "
              "it reconnects (Nchan's channel buffer could replay a "
              "broadcast channel, not a personal backlog of 100,000; not "
              "measured)")


def catchup(ctx, system):
    """ctx.catchup_users users go offline (their clients close), then
    ctx.catchup_messages personal messages are committed to them in large
    transactions and expanded; then their clients connect again with the
    last seq they had and read everything. Reports the resume's rate (from
    the first message received after the hello to the last), and what was
    lost or came twice."""
    if not is_herald(system):
        raise Unsupported(NO_CATCHUP.format(system))
    k, m = ctx.catchup_users, ctx.catchup_messages
    per_user = m // k
    m = per_user * k
    engine, secret, url = start_system(ctx, system, "catchup", k, 0)
    db = url.split("///", 1)[1].split("?", 1)[0]
    clients = None
    try:
        ctx.cluster.script(db, WAIT_SETTLED)
        # Online first, with one message each: the seq they resume from.
        clients, _ = connect(ctx, system, engine, secret, k)
        # One message to all of them: one position, the same last seq.
        ctx.cluster.psql(db, f"""
          SELECT herald.publish('bench', 'note',
                   ARRAY(SELECT 'user:u' || g
                           FROM generate_series(0, {k - 1}) g),
                   jsonb_build_object('bench_t', {STAMP}, 'bench_n', 0))""")
        st = clients.wait_received(k, 30)
        if st["received"] < k:
            raise RuntimeError(f"only {st['received']} of {k} users had "
                               "the message before going offline")
        last_seq = st["last_seq_min"]
        if st["last_seq_sum"] != last_seq * k:
            raise RuntimeError("the users' last seqs differ")
        clients.stop()
        clients = None
        # Offline: the backlog, committed in transactions of `batch`.
        batch = ctx.catchup_batch
        sql = [f"SELECT {STAMP};"]
        for start in range(0, m, batch):
            end = min(m, start + batch)
            sql.append(f"""BEGIN;
              SELECT count(herald.publish('bench', 'note',
                       'user:u' || (g % {k}),
                       jsonb_build_object('bench_t', {STAMP},
                                          'bench_n', g + 1)))
                FROM generate_series({start}, {end - 1}) g;
              COMMIT;""")
        sql.append(f"SELECT {STAMP};")
        sql.append("SELECT coalesce(public.bench_wait_settled(600), 0);")
        lines = ctx.cluster.script(db, "\n".join(sql))
        began, committed = int(lines[0]) / 1e6, int(lines[-2]) / 1e6
        expanded = int(lines[-1]) / 1e6 or None
        pending = int(ctx.cluster.psql(db, PENDING_COUNT))
        if pending:
            raise RuntimeError(f"{pending} messages not expanded")
        # Back online, resuming after the seq each had.
        connected_at = time.time()
        clients = Clients(ctx.bench, f"127.0.0.1:{engine.port}", "herald", k,
                          secret=secret, path=engine.sub_path,
                          extra=[f"--last-seq={last_seq}"])
        meters = Meters(engine.pids(), ctx.cluster.postmaster_pid(),
                        clients.pids())
        if clients.wait_ready(60) is None:
            raise RuntimeError("the users did not come back")
        st = clients.wait_received(m, ctx.catchup_timeout)
        reading = meters.read()
    finally:
        if clients:
            clients.stop()
        engine.stop()
    first, last = st["first_arrival_us"] / 1e6, st["last_arrival_us"] / 1e6
    got = min(st["received"], m)
    span = last - first if st["received"] > 1 else None
    return {
        "users": k,
        "messages": m,
        "batch": batch,
        "commit_seconds": committed - began,
        "expanded_seconds": (expanded - began) if expanded else None,
        "received": st["received"],
        "lost": m - got,
        "duplicates": st["duplicates"],
        "resume_seconds": span,
        # First to last message after the hello.
        "resume_per_s": (got - 1) / span if span else None,
        # From the connect, hello and welcome included.
        "connect_to_last_seconds": last - connected_at if got else None,
        "engine_cpu_us_per_message":
            reading["engine_cpu_seconds"] * 1e6 / got if got else None,
        "postgres_cpu_us_per_message":
            reading["postgres_cpu_seconds"] * 1e6 / got
            if got and reading["postgres_cpu_seconds"] is not None else None,
        "generator_busiest_cpu_percent":
            (reading["generator_busiest_cores"] or 0) * 100.0,
        "generator_bound": bool((reading["generator_busiest_cores"] or 0)
                                >= GENERATOR_BOUND_CORES),
    }


SCENARIOS = {"idle": idle, "fanout": fanout, "database": database,
             "storm": storm, "broadcast": broadcast, "catchup": catchup}
