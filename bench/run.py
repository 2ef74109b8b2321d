#!/usr/bin/python3
"""Runs the benchmark scenarios against Herald and its peers and writes one
JSON result per scenario and a markdown report. scripts/bench.sh is the
way in; see README.md ("Benchmarks").

Standard library only: it runs on Debian's python3 without PyPI."""

import argparse
import json
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import procstat, report  # noqa: E402
from lib.database import Cluster  # noqa: E402
from lib.engines import (install_nchan, install_node_peer,  # noqa: E402
                         install_pushpin)
from lib.scenarios import SCENARIOS, Context, Unsupported  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# Sizes: the full run aims at the targets within ~20 minutes; quick
# proves the harness end to end in well under a minute. The idle hold is
# twice Herald's default heartbeat interval (45 s): a 10 s hold from 2 s
# after the last connect could end before most connections' first ping,
# so how much keepalive it saw depended on how fast they connected.
FULL = dict(idle_connections=19000, idle_seconds=90,
            fanout_subscribers=1000, fanout_processes=2,
            fanout_deliveries=[1000, 2500, 5000, 10000, 25000, 50000, 100000,
                               150000, 250000, 350000],
            db_users=1000, db_rates=[100, 250, 500, 1000, 2000, 4000, 8000,
                                     16000, 24000],
            db_target=1000, bulk_messages=50000,
            storm_connections=10000, storm_rate=1, storm_seconds=12,
            broadcast_users=1000000, broadcast_online=2000,
            catchup_users=1, catchup_messages=100000, catchup_batch=10000,
            catchup_timeout=120,
            step_seconds=5, drain_seconds=5, settle_seconds=60)
QUICK = dict(idle_connections=200, idle_seconds=1,
             fanout_subscribers=100, fanout_processes=2,
             fanout_deliveries=[500, 1000],
             db_users=50, db_rates=[100, 200], db_target=100,
             bulk_messages=1000,
             storm_connections=100, storm_rate=5, storm_seconds=3,
             broadcast_users=10000, broadcast_online=100,
             catchup_users=2, catchup_messages=2000, catchup_batch=1000,
             catchup_timeout=60,
             step_seconds=2, drain_seconds=4, settle_seconds=20)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, Herald only, checks the results")
    parser.add_argument("--systems", default=None,
                        help="comma-separated: herald,herald-stealing,node-ws,nchan,pushpin "
                             "(default: all; --quick: herald)")
    parser.add_argument("--scenarios",
                        default="idle,fanout,database,storm,broadcast,"
                                "catchup")
    parser.add_argument("--out", default=None,
                        help="folder for results and the peers' installs "
                             "(default: .herald/bench; --quick: a temporary "
                             "folder, removed afterwards)")
    parser.add_argument("--report", default=None,
                        help="markdown report (default: docs/benchmarks.md; "
                             "--quick: OUT/report.md)")
    parser.add_argument("--pg-port", type=int, default=None,
                        help="the benchmark cluster's port (default: "
                             "$HERALD_BENCH_PG_PORT or 55480; --quick: any)")
    parser.add_argument("--port", type=int, default=int(
        os.environ.get("HERALD_BENCH_PORT", "18200")),
                        help="Herald's port (0: any free one); peers use "
                             "the next ones")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other systems' results in OUT and "
                             "add (or replace) the ones measured now")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the results in OUT "
                             "without measuring anything")
    parser.add_argument("--herald-arg", action="append", default=[],
                        help="an extra heraldd option, e.g. "
                             "--herald-arg=--scheduler.policy=stealing")
    parser.add_argument("--size", action="append", default=[],
                        metavar="NAME=JSON",
                        help="override one size, e.g. --size "
                             "'fanout_deliveries=[10000,50000]' "
                             "(names: the FULL and QUICK tables in run.py)")
    args = parser.parse_args()
    temporary = None
    if args.out is None and args.quick:
        # Short and reachable by the postgres user when run as root.
        temporary = args.out = tempfile.mkdtemp(prefix="herald-bench-")
        os.chmod(temporary, 0o755)
    args.out = args.out or os.path.join(REPO, ".herald", "bench")
    if args.pg_port is None:
        # --quick runs beside other tests: below the kernel's ephemeral
        # range, where no client connection holds the port by chance.
        args.pg_port = (random.randint(20000, 32000) if args.quick else int(
            os.environ.get("HERALD_BENCH_PG_PORT", "55480")))

    sizes = dict(QUICK if args.quick else FULL)
    for item in args.size:
        name, _, value = item.partition("=")
        if name not in sizes:
            sys.exit(f"bench: no size called {name}")
        sizes[name] = json.loads(value)
    systems = (args.systems or ("herald" if args.quick else "herald,herald-stealing,node-ws,nchan,pushpin")
               ).split(",")
    scenarios = args.scenarios.split(",")
    build = os.path.join(REPO, "build", "dev", "tools")
    ctx = Context(repo=REPO, port=args.port, quick=args.quick,
                  heraldd=os.environ.get("HERALDD",
                                         os.path.join(build, "heraldd")),
                  bench=os.environ.get("HERALD_BENCH",
                                       os.path.join(build, "herald-bench")),
                  herald_args=args.herald_arg,
                  node_folder=os.path.join(args.out, "peers", "node-ws"),
                  nchan_folder=os.path.join(args.out, "peers", "nchan"),
                  pushpin_folder=os.path.join(args.out, "peers", "pushpin"),
                  pushpin_source=os.path.join(REPO, "bench", "peers",
                                              "pushpin"),
                  nchan_template=os.path.join(REPO, "bench", "peers", "nchan",
                                              "nginx.conf.in"),
                  **sizes)
    if args.report_only:
        rewrite_report(args, systems)
        return
    for binary in (ctx.heraldd, ctx.bench):
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench: {binary} is missing; build first")
    # A test runner's timeout sends SIGTERM: unwind through the finally
    # blocks so that servers and the cluster are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    # Every connection is a file: take the whole hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    started = time.time()
    machine = procstat.machine()
    os.makedirs(os.path.join(args.out, "results"), exist_ok=True)
    skipped = {}
    if "node-ws" in systems:
        why = install_node_peer(os.path.join(REPO, "bench", "peers",
                                             "node-ws"), ctx.node_folder)
        if why:
            skipped["node-ws"] = why
    if "nchan" in systems:
        why = install_nchan()
        if why:
            skipped["nchan"] = why
    if "pushpin" in systems:
        why = install_pushpin()
        if why:
            skipped["pushpin"] = why
    ctx.cluster = Cluster(REPO, os.path.join(args.out, "pg"), args.pg_port,
                          fast=args.quick)
    ctx.cluster.start()
    saved = load_saved(args.out) if args.merge else None
    # A merge reports every saved scenario, not only those measured again.
    results = dict(saved["results"]) if saved else {}
    try:
        for scenario in scenarios:
            results[scenario] = results.get(scenario, {})
            for system in systems:
                if system in skipped:
                    results[scenario][system] = {"skipped": skipped[system]}
                    continue
                ctx.log(f"{scenario} / {system}")
                try:
                    results[scenario][system] = SCENARIOS[scenario](ctx,
                                                                    system)
                except Unsupported as e:
                    results[scenario][system] = {"skipped": str(e)}
                except Exception as e:  # one failure must not end the run
                    traceback.print_exc()
                    results[scenario][system] = {"error": str(e)}
            path = os.path.join(args.out, "results", f"{scenario}.json")
            with open(path, "w") as f:
                json.dump({"scenario": scenario, "sizes": sizes,
                           "systems": results[scenario]}, f, indent=1)
    finally:
        if args.quick:
            ctx.cluster.remove()
        else:
            ctx.cluster._pg("stop")

    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "minutes": (time.time() - started) / 60, "machine": machine,
            "quick": args.quick, "load_at_end": procstat.loadavg()}
    if saved:
        # The first run's facts stay; the report says what was added.
        added = (f"{', '.join(systems)} measured again in "
                 f"{', '.join(scenarios)} on {meta['date']} "
                 f"({meta['minutes']:.1f} min, load "
                 f"{machine['load_at_start']} → {meta['load_at_end']})")
        meta = saved["meta"]
        meta["added"] = meta.get("added", []) + [added]
        systems = saved["systems"] + [s for s in systems
                                      if s not in saved["systems"]]
    with open(os.path.join(args.out, "results", "meta.json"), "w") as f:
        json.dump({"meta": meta, "systems": systems}, f, indent=1)
    report_path = report_file(args)
    plots = os.path.join(os.path.dirname(report_path), "benchmarks")
    report.write(report_path, results, meta, systems, plots)
    ctx.log(f"report: {report_path}")
    if temporary:
        with open(report_path) as f:
            print(f.read())
        shutil.rmtree(temporary, ignore_errors=True)
    if args.quick:
        problems = check(results)
        for p in problems:
            print("bench: " + p, file=sys.stderr)
        sys.exit(1 if problems else 0)


def load_saved(out):
    """The results and metadata of the last run in OUT."""
    folder = os.path.join(out, "results")
    with open(os.path.join(folder, "meta.json")) as f:
        saved = json.load(f)
    saved["results"] = {}
    for scenario in SCENARIOS:
        path = os.path.join(folder, f"{scenario}.json")
        if os.path.exists(path):
            with open(path) as f:
                saved["results"][scenario] = json.load(f)["systems"]
    return saved


def report_file(args):
    return args.report or (
        os.path.join(args.out, "report.md") if args.quick
        else os.path.join(REPO, "docs", "benchmarks.md"))


def rewrite_report(args, systems):
    """The report again from OUT/results (say after changing its layout)."""
    folder = os.path.join(args.out, "results")
    with open(os.path.join(folder, "meta.json")) as f:
        saved = json.load(f)
    results = {}
    for scenario in args.scenarios.split(","):
        path = os.path.join(folder, f"{scenario}.json")
        if os.path.exists(path):
            with open(path) as f:
                results[scenario] = json.load(f)["systems"]
    path = report_file(args)
    report.write(path, results, saved["meta"], saved["systems"],
                 os.path.join(os.path.dirname(path), "benchmarks"))
    print(f"report: {path}")


def check(results):
    """What --quick asserts: every scenario ran and produced well-formed
    figures, every message arrived, nothing was lost."""
    problems = []
    for scenario, by in results.items():
        r = by.get("herald") or {}
        if "error" in r:
            problems.append(f"{scenario}: {r['error']}")
            continue
    idle = results.get("idle", {}).get("herald", {})
    if idle and "error" not in idle:
        if idle["ready"] != idle["connections"]:
            problems.append("idle: not every client connected")
        if not idle["bytes_per_connection"] > 0:
            problems.append("idle: no memory figure")
    for scenario in ("fanout", "database"):
        r = results.get(scenario, {}).get("herald", {})
        if r and "error" not in r:
            if not r["steps"] or r["steps"][0]["delivered"] == 0:
                problems.append(f"{scenario}: nothing delivered")
            first = r["steps"][0] if r["steps"] else None
            if first and first["delivered"] != first["expected"]:
                problems.append(f"{scenario}: delivered {first['delivered']}"
                                f" of {first['expected']} at the lowest rate")
            for s in r["steps"]:
                if s["latency"]["p50_ms"] is None:
                    problems.append(f"{scenario}: no latencies")
    for scenario in ("fanout", "database"):
        r = results.get(scenario, {}).get("herald", {})
        for s in (r or {}).get("steps", []):
            if s["engine_cpu_us_per_delivery"] is None:
                problems.append(f"{scenario}: no CPU per delivery")
            if not s["drained"] and s["all_delivered"]:
                problems.append(f"{scenario}: a step at "
                                f"{s['publish_rate']}/s did not drain")
    db = results.get("database", {}).get("herald", {})
    if db and "error" not in db:
        # Commit -> client joins every delivered message with its writer's
        # commit by serial: one missing means the join lost it.
        for s in db["steps"]:
            if s["latency"]["count"] != s["delivered"]:
                problems.append(f"database: {s['latency']['count']} commit "
                                f"times for {s['delivered']} delivered at "
                                f"{s['publish_rate']}/s")
        bulk = db["bulk"]
        if not bulk["complete"] or not bulk["ingested_per_s"]:
            problems.append(f"database: bulk delivered {bulk['delivered']} "
                            f"of {bulk['delivered_expected']}, expanded "
                            f"{bulk['expanded']} of {bulk['messages']}")
    cast = results.get("broadcast", {}).get("herald", {})
    if cast and "error" not in cast:
        if cast["lost"] or cast["state"] != "processed" \
                or cast["all_online_seconds"] is None \
                or not cast["transaction_seconds"] > 0:
            problems.append(f"broadcast: {cast['received']} of "
                            f"{cast['online']} online had it, state "
                            f"{cast['state']}")
    catch = results.get("catchup", {}).get("herald", {})
    if catch and "error" not in catch:
        if catch["lost"] or catch["duplicates"] or not catch["resume_per_s"]:
            problems.append(f"catchup: lost {catch['lost']}, duplicates "
                            f"{catch['duplicates']} of {catch['messages']}")
    storm = results.get("storm", {}).get("herald", {})
    if storm and "error" not in storm:
        if storm["lost"] != 0 or not storm["resumed"]:
            problems.append(f"storm: lost {storm['lost']}, resumed "
                            f"{storm['resumed']}")
        if storm["published"] == 0:
            problems.append("storm: nothing published")
    return problems


if __name__ == "__main__":
    main()
