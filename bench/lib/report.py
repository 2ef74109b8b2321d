"""The markdown report: the machine, one table of every measured figure
with Herald/peer ratios and the targets, and the latency plots."""

import os

from . import plot


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
        if result is None or not isinstance(result, dict):
            return None
        result = result.get(key)
    return result


# (scenario, what, unit, better, path into the result, target, check)
ROWS = [
    ("idle", "engine memory per connection", "bytes", "lower",
     ("bytes_per_connection",), "≤ 2048 at 19,000", lambda v: v <= 2048),
    ("idle", "connections held", "", "higher", ("ready",),
     "19,000", lambda v: v >= 19000),
    ("idle", "engine CPU while idle", "% of a core", "lower",
     ("idle_cpu_percent",), None, None),
    ("idle", "engine CPU with no client", "% of a core", "lower",
     ("idle_cpu_percent_without_clients",), None, None),
    ("idle", "connects per second", "/s", "higher",
     ("connects_per_second",), None, None),
    ("fanout", "max sustained deliveries", "/s", "higher",
     ("max_sustained_deliveries_per_s",), "≥ 250,000 with p99 ≤ 50 ms",
     lambda v: v >= 250000),
    ("fanout", "max deliveries, any latency", "/s", "higher",
     ("max_deliveries_per_s_any_latency",), None, None),
    ("fanout", "p99 at the sustained rate", "ms", "lower",
     ("latency_at_max", "p99_ms"), None, None),
    ("fanout", "engine CPU at the sustained rate", "% of a core", "lower",
     ("engine_cpu_percent_at_max",), None, None),
    ("database", "publish rate the writers reached when asked for 1,000/s",
     "/s", "higher", ("at_target_rate", "rate_reached"), None, None),
    ("database", "commit-to-client p50 at 1,000/s", "ms", "lower",
     ("at_target_rate", "latency", "p50_ms"), "≤ 2", lambda v: v <= 2),
    ("database", "commit-to-client p99 at 1,000/s", "ms", "lower",
     ("at_target_rate", "latency", "p99_ms"), "≤ 10", lambda v: v <= 10),
    ("database", "commit-to-client p99.9 at 1,000/s", "ms", "lower",
     ("at_target_rate", "latency", "p999_ms"), None, None),
    ("database", "max sustained publish rate", "/s", "higher",
     ("max_sustained_rate",), None, None),
    ("database", "max publish rate, any latency", "/s", "higher",
     ("max_rate_any_latency",), None, None),
    ("database", "bulk: messages ingested", "/s", "higher",
     ("bulk", "ingested_per_s"), "≥ 20,000", lambda v: v >= 20000),
    ("database", "bulk: messages delivered", "/s", "higher",
     ("bulk", "delivered_per_s"), None, None),
    ("storm", "time until all resumed", "s", "lower",
     ("resume_seconds",), None, None),
    ("storm", "messages lost", "", "lower", ("lost",), "0",
     lambda v: v == 0),
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
        met = "—"
        if check and herald is not None:
            met = "yes" if check(herald) else "**no**"
            if variant and tuned is not None:
                met += " (" + ("yes" if check(tuned) else "no") + ")"
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
        lines += [f"### {scenario}: every step", "",
                  "| system | offered /s | delivered | p50 ms | p99 ms | "
                  "p99.9 ms | max ms | engine CPU % | sustained |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name in systems:
            for s in _get(results[scenario].get(name), "steps") or []:
                lat = s["latency"]
                lines.append(
                    f"| {name} | {_fmt(s.get(rate_key))} | "
                    f"{_fmt(s['delivered'])}/{_fmt(s['expected'])} | "
                    f"{_fmt(lat['p50_ms'])} | {_fmt(lat['p99_ms'])} | "
                    f"{_fmt(lat['p999_ms'])} | {_fmt(lat['max_ms'])} | "
                    f"{_fmt(s['engine_cpu_percent'])} | "
                    f"{_fmt(s['sustained'])} |")
        lines.append("")
    return lines
