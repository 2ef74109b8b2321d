"""The markdown report: the machine, one table of every measured figure
with Herald/peer ratios and the targets, and the latency plots."""

import os

from . import plot


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
    if herald == peer:
        return "1.00×"
    if peer == 0 or herald == 0:
        return "∞" if (herald if better == "higher" else peer) else "—"
    return f"{herald / peer:.2f}×"


def write(path, results, meta, peers, plots_folder):
    """Writes the report to path and its SVG plots into plots_folder."""
    os.makedirs(plots_folder, exist_ok=True)
    rel = os.path.relpath(plots_folder, os.path.dirname(path))
    lines = ["# Benchmarks", "",
             "Measured by `scripts/bench.sh`"
             + (" --quick" if meta.get("quick") else "")
             + f" on {meta['date']} (total {meta['minutes']:.1f} min).", ""]
    lines += ["## Machine", ""]
    for key, value in meta["machine"].items():
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    lines += ["",
              "The load generator, PostgreSQL and the system under test share "
              "these cores, and other engineers' builds and tests were "
              "running on the machine at the same time (load average at "
              f"start: {meta['machine']['load_at_start']}, at the end: "
              f"{meta['load_at_end']}): the figures are lower bounds of what "
              "an unshared machine gives, and vary from run to run.", ""]
    lines += ["## Results", ""]
    header = ["scenario", "measure", "Herald"]
    for p in peers:
        header += [p, f"Herald/{p}"]
    header += ["target", "met"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for scenario, what, unit, better, keys, target, check in ROWS:
        if scenario not in results:
            continue
        herald = _get(results[scenario].get("herald"), *keys)
        label = f"{what} ({unit}, {better} is better)" if unit else \
            f"{what} ({better} is better)"
        row = [scenario, label, _fmt(herald)]
        for p in peers:
            value = _get(results[scenario].get(p), *keys)
            row += [_fmt(value), _ratio(herald, value, better)]
        met = "—"
        if check and herald is not None:
            met = "yes" if check(herald) else "**no**"
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
    lines += _steps(results, peers)
    lines += ["## Latency distributions", ""]
    for scenario, title, keys in [
            ("fanout", "Fan-out at Herald's highest sustained rate",
             ("histogram_at_max",)),
            ("database", "Commit to client at 1,000 publishes/s",
             ("at_target_rate", "histogram"))]:
        if scenario not in results:
            continue
        series = [(name, _get(results[scenario].get(name), *keys))
                  for name in ["herald", *peers]]
        name = f"{scenario}-latency.svg"
        with open(os.path.join(plots_folder, name), "w") as f:
            f.write(plot.svg(title, series))
        lines += [f"![{title}]({rel}/{name})", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _steps(results, peers):
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
        for name in ["herald", *peers]:
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
