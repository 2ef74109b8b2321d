"""The markdown report: the machine, one table of every measured figure
with Herald/peer ratios and the targets, and the latency plots."""

import os

from . import plot
from .procstat import machine_us_per_delivery


def _with_rate_reached(results):
    """Older result files lack at_target_rate.rate_reached: take it from the
    step that was asked for the target rate."""
    for r in (results.get("database") or {}).values():
        target = _get(r, "at_target_rate")
        if target and "rate_reached" not in target:
            for step in r.get("steps", []):
                if step["publish_rate"] == target["rate"]:
                    target["rate_reached"] = step["publish_rate_reached"]


def _get(result, *path):
    for key in path:
        if callable(key):
            return key(result)
        if result is None or not isinstance(result, dict):
            return None
        result = result.get(key)
    return result


def _best(values, better):
    values = [v for v in values if isinstance(v, (int, float))
              and not isinstance(v, bool)]
    if not values:
        return None
    return max(values) if better == "higher" else min(values)


def _ms(seconds):
    return None if seconds is None else seconds * 1000.0


def _above_peers(floor):
    """At least floor and above the best peer (when one was measured)."""
    return lambda v, best: v >= floor and (best is None or v > best)


def _at_most_best(v, best):
    """No more than the best peer; None (not judged) without one."""
    return None if best is None else v <= best


# (scenario, what, unit, better, path into the result (a callable last
# converts the value), target, check(herald, best peer) -> bool or None)
ROWS = [
    ("idle", "engine memory per connection", "bytes", "lower",
     ("bytes_per_connection",), "≤ 2048 at 19,000",
     lambda v, b: v <= 2048),
    ("idle", "connections held", "", "higher", ("ready",),
     "19,000", lambda v, b: v >= 19000),
    ("idle", "engine CPU while idle", "% of a core", "lower",
     ("idle_cpu_percent",), "≤ 1", lambda v, b: v <= 1),
    ("idle", "engine CPU with no client", "% of a core", "lower",
     ("idle_cpu_percent_without_clients",), None, None),
    ("idle", "connects per second", "/s", "higher",
     ("connects_per_second",), None, None),
    ("fanout", "max sustained deliveries", "/s", "higher",
     ("max_sustained_deliveries_per_s",),
     "≥ 100,000 with p99 ≤ 50 ms, above every peer", _above_peers(100000)),
    ("fanout", "max deliveries, any latency", "/s", "higher",
     ("max_deliveries_per_s_any_latency",), None, None),
    ("fanout", "p99 at the sustained rate", "ms", "lower",
     ("latency_at_max", "p99_ms"), None, None),
    ("fanout", "engine CPU at the sustained rate", "% of a core", "lower",
     ("engine_cpu_percent_at_max",), None, None),
    ("fanout", "engine CPU per delivery, highest step that delivered "
     "everything", "µs", "lower",
     ("cpu_at_highest_complete", "engine_us_per_delivery"),
     "≤ best peer", _at_most_best),
    ("fanout", "PostgreSQL CPU per delivery, same step", "µs", "lower",
     ("cpu_at_highest_complete", "postgres_us_per_delivery"), None, None),
    ("fanout", "clients' CPU per delivery, same step", "µs", "lower",
     ("cpu_at_highest_complete", "clients_us_per_delivery"), None, None),
    ("fanout", "engine + PostgreSQL + clients CPU per delivery, same step",
     "µs", "lower",
     ("cpu_at_highest_complete", "machine_us_per_delivery"), None, None),
    ("fanout", "… at offered deliveries", "/s", "higher",
     ("cpu_at_highest_complete", "deliveries_offered_per_s"), None, None),
    ("database", "publish rate the writers reached when asked for 1,000/s",
     "/s", "higher", ("at_target_rate", "rate_reached"),
     "1,000 (within 1 %)", lambda v, b: v >= 990),
    ("database", "commit-to-client p50 at 1,000/s", "ms", "lower",
     ("at_target_rate", "latency", "p50_ms"), "≤ 2", lambda v, b: v <= 2),
    ("database", "commit-to-client p99 at 1,000/s", "ms", "lower",
     ("at_target_rate", "latency", "p99_ms"), "≤ 10", lambda v, b: v <= 10),
    ("database", "commit-to-client p99.9 at 1,000/s", "ms", "lower",
     ("at_target_rate", "latency", "p999_ms"), None, None),
    ("database", "publish-to-client p50 at 1,000/s (from before the "
     "writer's statement)", "ms", "lower",
     ("at_target_rate", "publish_latency", "p50_ms"), None, None),
    ("database", "publish-to-client p99 at 1,000/s", "ms", "lower",
     ("at_target_rate", "publish_latency", "p99_ms"), None, None),
    ("database", "engine CPU per delivery at 1,000/s", "µs", "lower",
     ("at_target_rate", "engine_us_per_delivery"), None, None),
    ("database", "PostgreSQL CPU per delivery at 1,000/s", "µs", "lower",
     ("at_target_rate", "postgres_us_per_delivery"), None, None),
    ("database", "max sustained publish rate", "/s", "higher",
     ("max_sustained_rate",), None, None),
    ("database", "max publish rate, any latency", "/s", "higher",
     ("max_rate_any_latency",), None, None),
    ("database", "bulk: the 50,000 publish calls before COMMIT", "s",
     "lower", ("bulk", "publish_calls_seconds"), None, None),
    ("database", "bulk: messages expanded per second from COMMIT", "/s",
     "higher", ("bulk", "ingested_per_s"), "≥ 20,000",
     lambda v, b: v >= 20000),
    ("database", "bulk: from COMMIT until all expanded", "s", "lower",
     ("bulk", "ingest_seconds"), None, None),
    ("database", "bulk: from COMMIT until the connected users had theirs",
     "s", "lower", ("bulk", "deliver_seconds"), None, None),
    ("database", "bulk: messages lost (connected users)", "", "lower",
     ("bulk", "lost"), "0", lambda v, b: v == 0),
    ("storm", "time until all resumed", "s", "lower",
     ("resume_seconds",), "≤ 2", lambda v, b: v <= 2),
    ("storm", "messages lost", "", "lower", ("lost",), "0",
     lambda v, b: v == 0),
    ("broadcast", "users in the app", "", "higher", ("users",),
     "1,000,000", lambda v, b: v >= 1000000),
    ("broadcast", "clients online", "", "higher", ("online",), None, None),
    ("broadcast", "publishing transaction, BEGIN to COMMIT returned", "ms",
     "lower", ("transaction_seconds", _ms), "≤ 50", lambda v, b: v <= 50),
    ("broadcast", "COMMIT alone", "ms", "lower", ("commit_seconds", _ms),
     None, None),
    ("broadcast", "from COMMIT until expanded", "ms", "lower",
     ("expanded_seconds", _ms), None, None),
    ("broadcast", "from COMMIT until every online client had it", "ms",
     "lower", ("all_online_seconds", _ms), None, None),
    ("broadcast", "online clients that did not get it", "", "lower",
     ("lost",), "0", lambda v, b: v == 0),
    ("catchup", "messages waiting for the user", "", "higher",
     ("messages",), "100,000", lambda v, b: v >= 100000),
    ("catchup", "backlog: committed, then expanded, in", "s", "lower",
     ("expanded_seconds",), None, None),
    ("catchup", "resume rate, first to last message after the hello", "/s",
     "higher", ("resume_per_s",), "≥ 50,000", lambda v, b: v >= 50000),
    ("catchup", "from connecting until the last message", "s", "lower",
     ("connect_to_last_seconds",), None, None),
    ("catchup", "messages lost", "", "lower", ("lost",), "0",
     lambda v, b: v == 0),
    ("catchup", "messages twice", "", "lower", ("duplicates",), "0",
     lambda v, b: v == 0),
]


def _fmt(value):
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(herald, peer, better):
    if herald is None or peer is None:
        return "—"
    if peer == 0:
        return "1.00×" if herald == 0 else "∞"
    return f"{herald / peer:.2f}×"


VARIANT = "herald-stealing"
NAMES = {"herald": "Herald", VARIANT: "Herald, work-stealing scheduler"}


def write(path, results, meta, systems, plots_folder):
    """Writes the report to path and its SVG plots into plots_folder."""
    os.makedirs(plots_folder, exist_ok=True)
    _with_rate_reached(results)
    rel = os.path.relpath(plots_folder, os.path.dirname(path))
    variant = VARIANT in systems
    peers = [s for s in systems if s not in NAMES]
    lines = ["# Benchmarks", "",
             "Measured by `scripts/bench.sh`"
             + (" --quick" if meta.get("quick") else "")
             + f" on {meta['date']} (total {meta['minutes']:.1f} min). "
             "What the figures mean and what limits them: "
             "[performance.md](performance.md).", ""]
    for added in meta.get("added", []):
        lines += [f"Added afterwards: {added}.", ""]
    lines += ["## Machine", ""]
    for key, value in meta["machine"].items():
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    lines += ["",
              "The load generator, PostgreSQL and the system under test share "
              "these cores; a load average above what the run itself makes "
              "means other work shared them too (at start: "
              f"{meta['machine']['load_at_start']}, at the end: "
              f"{meta['load_at_end']}), and the figures are then lower "
              "bounds of what an unshared machine gives.", ""]
    lines += ["## Results", "",
              "*Herald* is heraldd with its default configuration; *Herald, "
              "work-stealing scheduler* the same binary with "
              "`--scheduler.policy=stealing`. A ratio is Herald's figure "
              "divided by the peer's (the variant's in brackets): "
              "above 1 is better where higher is better, below 1 where "
              "lower is.", ""]
    header = ["scenario", "measure", "Herald"]
    if variant:
        header.append(NAMES[VARIANT])
    for p in peers:
        header += [p, f"Herald/{p}"]
    if peers:
        header.append("Herald/best peer")
    header += ["target", "met"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for scenario, what, unit, better, keys, target, check in ROWS:
        if scenario not in results:
            continue
        herald = _get(results[scenario].get("herald"), *keys)
        tuned = _get(results[scenario].get(VARIANT), *keys)
        label = f"{what} ({unit}, {better} is better)" if unit else \
            f"{what} ({better} is better)"
        row = [scenario, label, _fmt(herald)]
        if variant:
            row.append(_fmt(tuned))
        for p in peers:
            value = _get(results[scenario].get(p), *keys)
            ratio = _ratio(herald, value, better)
            if variant:
                ratio += f" ({_ratio(tuned, value, better)})"
            row += [_fmt(value), ratio]
        best = _best([_get(results[scenario].get(p), *keys) for p in peers],
                     better)
        if peers:
            ratio = _ratio(herald, best, better)
            if variant:
                ratio += f" ({_ratio(tuned, best, better)})"
            row.append(ratio)
        met = "—"

        def judged(value):
            verdict = check(value, best)
            return "—" if verdict is None else "yes" if verdict else "no"
        if check and herald is not None:
            met = judged(herald)
            met = "**no**" if met == "no" else met
            if variant and tuned is not None:
                met += f" ({judged(tuned)})"
        row += [target or "", met]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    problems = [(s, sys, r["error"]) for s, by in results.items()
                for sys, r in by.items() if isinstance(r, dict)
                and "error" in r]
    skipped = [(s, sys, r["skipped"]) for s, by in results.items()
               for sys, r in by.items() if isinstance(r, dict)
               and "skipped" in r]
    if problems or skipped:
        lines += ["Not measured:", ""]
        for s, sys, why in problems + skipped:
            lines.append(f"- {s} / {sys}: {why}")
        lines.append("")
    lines += _notes(results, systems)
    lines += _steps(results, systems)
    lines += ["## Latency distributions", ""]
    for scenario, key, title in [
            ("fanout", "deliveries_offered_per_s", "Fan-out at {:,.0f} deliveries/s"),
            ("database", "publish_rate", "Commit to client at {:,.0f} publishes/s")]:
        if scenario not in results:
            continue
        rate, series = _common_step(results[scenario], systems, key)
        if rate is None:
            continue
        name = f"{scenario}-latency.svg"
        with open(os.path.join(plots_folder, name), "w") as f:
            f.write(plot.svg(title.format(rate), series))
        lines += [f"![{title.format(rate)}]({rel}/{name})", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _common_step(by_system, systems, key):
    """The highest offered rate every system ran, and each system's latency
    histogram there: the distributions side by side at the same load."""
    steps = {name: {s[key]: s for s in _get(by_system.get(name), "steps")
                    or []} for name in systems}
    steps = {name: by for name, by in steps.items() if by}
    if not steps:
        return None, []
    common = set.intersection(*(set(by) for by in steps.values()))
    if not common:
        return None, []
    rate = max(common)
    return rate, [(NAMES.get(name, name), by[rate]["histogram"])
                  for name, by in steps.items()]


def _steps(results, systems):
    """Every rate step, so that the table's maxima can be checked."""
    lines = []
    for scenario, rate_key in (("fanout", "deliveries_offered_per_s"),
                               ("database", "publish_rate")):
        if scenario not in results:
            continue
        db = scenario == "database"
        lines += [f"### {scenario}: every step", "",
                  "*late*: arrived after the step's drain time, before the "
                  "next step began; *drained*: the next step started with "
                  "nothing of this one left (else it started on a fresh "
                  "database); *generator %*: the busiest herald-bench "
                  "client process, in % of a core."
                  + ("" if db else " The subscribers are spread over "
                     "`fanout_processes` client processes (2 in a full "
                     "run), so that no one process reading all of them "
                     "sets the pace.")
                  + (" Latencies are from the writer's COMMIT returned to "
                     "the client; *publish p50*: from before the writer's "
                     "statement (the publish and its commit)." if db else ""),
                  "",
                  "| system | offered /s | delivered | late | p50 ms | "
                  "p99 ms | p99.9 ms | max ms | "
                  + ("publish p50 ms | " if db else "")
                  + "engine CPU % | "
                  "engine µs/delivery | PostgreSQL µs/delivery | "
                  + ("" if db else "clients µs/delivery | ")
                  + "generator % | drained | sustained |",
                  # One more column either way: publish p50 or clients.
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
                  "---|"]
        for name in systems:
            for s in _get(results[scenario].get(name), "steps") or []:
                lat = s["latency"]
                lines.append(
                    f"| {name} | {_fmt(s.get(rate_key))} | "
                    f"{_fmt(s['delivered'])}/{_fmt(s['expected'])} | "
                    f"{_fmt(s.get('late'))} | "
                    f"{_fmt(lat['p50_ms'])} | {_fmt(lat['p99_ms'])} | "
                    f"{_fmt(lat['p999_ms'])} | {_fmt(lat['max_ms'])} | "
                    + (f"{_fmt(_get(s, 'publish_latency', 'p50_ms'))} | "
                       if db else "")
                    + f"{_fmt(s['engine_cpu_percent'])} | "
                    f"{_fmt(s.get('engine_cpu_us_per_delivery'))} | "
                    f"{_fmt(s.get('postgres_cpu_us_per_delivery'))} | "
                    + ("" if db else
                       f"{_fmt(s.get('clients_cpu_us_per_delivery'))} | ")
                    + f"{_fmt(s.get('generator_busiest_cpu_percent'))} | "
                    f"{_fmt(s.get('drained'))} | "
                    f"{_fmt(s['sustained'])} |")
        lines.append("")
    return lines


def _notes(results, systems):
    """How the new figures are taken, and where a figure is not the
    system's: generator-bound steps, steps that did not drain."""
    lines = ["## How to read the figures", ""]
    if "fanout" in results or "database" in results:
        lines += [
            "- **CPU per delivery** is the CPU time (user + system, from "
            "`/proc/<pid>/stat`) the engine used from the start of a step "
            "until it drained, divided by the deliveries of the step: on a "
            "shared machine a fairer comparison than rates. The engine is "
            "heraldd alone for Herald, the node process for node-ws, nginx's "
            "master and workers for Nchan, and Pushpin's processes (not its "
            "origin). *PostgreSQL* is every process of the benchmark's "
            "cluster (the engine's connections and the writers' backends, "
            "ended ones included): Herald's fan-out goes through it (a "
            "`herald.publish` per message), the peers' fan-out does not. "
            "*Clients* is every herald-bench client process of the step. "
            "On loopback a TCP segment's transmission and its receive side "
            "are billed to the process that triggers the transmission: "
            "Herald sets TCP_NODELAY and transmits in its own sends, while "
            "nginx leaves Nagle on, queues small writes behind unacked "
            "data and lets the client's ACK push them out, in the client's "
            "process (more than half of its transmissions at 350,000 "
            "deliveries/s). *Engine + PostgreSQL + clients* is what a "
            "delivery cost the machine, whoever was billed.",
            "- **Every step starts drained**: after a step is judged the "
            "runner waits (up to a minute; 20 s in --quick) until the "
            "clients have everything of it "
            "and Herald's outbox has nothing pending; a peer's missing "
            "messages count as lost once nothing more arrives for 3 s. A "
            "step that could not drain is listed below and the next one "
            "starts on a fresh database with a freshly started server. The "
            "bulk transaction always runs on a fresh database of its own, "
            "with 50,000 users.",
            "- **The benchmark's PostgreSQL** is a cluster made for the run, "
            "durable (fsync on), with `wal_init_zero=off`: a fresh cluster "
            "has no old WAL segments to recycle and zero-fills a new 16 MB "
            "one inside whichever commit crosses the boundary, which held "
            "one message of the first fan-out step back by 47-60 ms in "
            "every run. A database that has run a while recycles its "
            "segments.", ""]
    if "database" in results:
        lines += [
            "- **Commit-to-client** is, per message, the moment a client "
            "had it less the moment the writer's statement returned: the "
            "writer (`herald.publish` for Herald, `pg_notify` for node-ws, "
            "each an autocommitted statement) stamps every serial's commit, "
            "each client every serial's arrival, and the two are joined by "
            "serial. *Publish-to-client* is from before the statement, the "
            "stamp the message carries: it adds the statement itself, "
            "insert and durable commit for Herald, a notification for "
            "node-ws.", ""]
        lines += [
            "- **Bulk**: one transaction of 50,000 `herald.publish` calls, "
            "each to a different user; the clients of the first 1,000 users "
            "are connected (a client per user would pass the file limit). "
            "The calls before the COMMIT and the expansion after it are "
            "timed apart; *expanded* means no outbox row pending, and the "
            "database must show 50,000 processed messages on 50,000 "
            "streams.", ""]
    if "broadcast" in results:
        lines += [
            "- **Broadcast** (Herald only: " + _NO_AUDIENCE + "): users "
            "seeded with one set-based `INSERT ... SELECT generate_series` "
            "(the HTTP import is too slow for a million), one "
            "`herald.publish(..., ARRAY['app'], ...)`; times from the "
            "server's clock. Expansion is polled from inside the server "
            "every 5 ms.", ""]
    if "catchup" in results:
        catch = (results["catchup"] or {}).get("herald") or {}
        lines += [
            "- **Catch-up** (Herald only; the peers keep no per-user history "
            "to resume from, and Nchan's channel buffer was not measured): "
            "the user's client has one message and closes; the backlog is "
            "committed in transactions of "
            f"{_fmt(catch.get('batch'))} and expanded; the client "
            "connects again with the seq it had. The rate counts from the "
            "first message after the hello to the last.", ""]
    flagged = []
    for scenario, key in (("fanout", "deliveries_offered_per_s"),
                          ("database", "publish_rate")):
        for name in systems:
            for s in _get((results.get(scenario) or {}).get(name),
                          "steps") or []:
                if s.get("generator_bound"):
                    flagged.append(
                        f"- {scenario} / {name} at {_fmt(s.get(key))}/s: "
                        "the generator is the bound (its busiest client "
                        "process at "
                        f"{_fmt(s['generator_busiest_cpu_percent'])} % of a "
                        "core), not the system")
                if s.get("writers_bound"):
                    flagged.append(
                        f"- {scenario} / {name} at {_fmt(s.get(key))}/s: "
                        f"{s['writers']} writers, each waiting "
                        f"{_fmt(s['statement_latency']['p50_ms'])} ms (p50) "
                        "for its statement, could not offer the rate; the "
                        "statement time is the database's (under the "
                        "system's load), the writer count the generator's")
                if s.get("drained") is False:
                    flagged.append(
                        f"- {scenario} / {name} at {_fmt(s.get(key))}/s: did "
                        f"not drain within {_fmt(s.get('settle_seconds'))} s "
                        f"(outbox pending {_fmt(s.get('outbox_pending'))}); "
                        "the next step started on a fresh database")
    for scenario in ("catchup",):
        for name in systems:
            r = (results.get(scenario) or {}).get(name)
            if _get(r, "generator_bound"):
                flagged.append(
                    f"- {scenario} / {name}: the generator is the bound "
                    f"({_fmt(r['generator_busiest_cpu_percent'])} % of a "
                    "core)")
    if flagged:
        lines += ["Where a figure is not the system's own:", ""] + flagged
        lines.append("")
    return lines + _cpu_common(results, systems)


def _cpu_common(results, systems):
    """CPU per delivery of every system at the same offered load: the
    highest fan-out step every system delivered completely."""
    steps = {}
    for name in systems:
        done = {s["deliveries_offered_per_s"]: s
                for s in _get((results.get("fanout") or {}).get(name),
                              "steps") or []
                if s["all_delivered"]
                and s.get("engine_cpu_us_per_delivery") is not None}
        if done:
            steps[name] = done
    if len(steps) < 2:
        return []
    common = set.intersection(*(set(d) for d in steps.values()))
    if not common:
        return []
    rate = max(common)
    lines = [f"### CPU per delivery at the same load: fan-out at "
             f"{_fmt(rate)} deliveries/s", "",
             "| system | engine µs/delivery | PostgreSQL µs/delivery | "
             "clients µs/delivery | engine + PostgreSQL + clients | "
             "Herald/system (engine) | Herald/system (all three) |",
             "|---|---|---|---|---|---|---|"]
    herald = steps.get("herald", {}).get(rate) or {}
    herald_engine = herald.get("engine_cpu_us_per_delivery")
    herald_all = machine_us_per_delivery(herald)
    for name, done in steps.items():
        s = done[rate]
        engine = s["engine_cpu_us_per_delivery"]
        together = machine_us_per_delivery(s)
        lines.append(
            f"| {name} | {_fmt(engine)} | "
            f"{_fmt(s.get('postgres_cpu_us_per_delivery'))} | "
            f"{_fmt(s.get('clients_cpu_us_per_delivery'))} | "
            f"{_fmt(together)} | {_ratio(herald_engine, engine, 'lower')} | "
            f"{_ratio(herald_all, together, 'lower')} |")
    return lines + [""]


_NO_AUDIENCE = ("the peers have no durable audience of an app's users, "
                "only whoever is connected, which is the fan-out scenario")

