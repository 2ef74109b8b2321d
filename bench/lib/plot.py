"""Latency distributions as hand-written SVG: latency (log scale) against
percentile on the 1/(1-q) scale that HdrHistogram plots use, so that the
tail (99 %, 99.9 %) gets as much room as the median."""

import math

W, H = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 50
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
MAX_NINES = 4  # up to 99.99 %


def _points(compact):
    """(nines, ms) per bucket: nines = -log10(1 - fraction below)."""
    total = compact["count"]
    seen = 0
    out = []
    for bound, count in compact["buckets"]:
        seen += count
        frac = seen / total
        nines = MAX_NINES if frac >= 1 else min(MAX_NINES,
                                                -math.log10(1 - frac))
        out.append((nines, min(bound, compact["max"]) / 1000.0))
    return out


def svg(title, series):
    """series: [(label, compact histogram)]; returns the SVG text."""
    series = [(label, h) for label, h in series if h and h.get("count")]
    all_ms = [ms for _, h in series for _, ms in _points(h)] or [1.0]
    lo = 10 ** math.floor(math.log10(max(min(all_ms), 0.01)))
    hi = 10 ** math.ceil(math.log10(max(max(all_ms), lo * 10)))

    def x(nines):
        return LEFT + (W - LEFT - RIGHT) * nines / MAX_NINES

    def y(ms):
        span = math.log10(hi) - math.log10(lo)
        return TOP + (H - TOP - BOTTOM) * (
            1 - (math.log10(max(ms, lo)) - math.log10(lo)) / span)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" '
             f'height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{W / 2}" y="18" text-anchor="middle" '
             f'font-size="14">{title}</text>']
    for nines, label in enumerate(["0%", "90%", "99%", "99.9%", "99.99%"]):
        parts.append(f'<line x1="{x(nines)}" y1="{TOP}" x2="{x(nines)}" '
                     f'y2="{H - BOTTOM}" stroke="#ddd"/>')
        parts.append(f'<text x="{x(nines)}" y="{H - BOTTOM + 16}" '
                     f'text-anchor="middle">{label}</text>')
    decade = lo
    while decade <= hi * 1.001:
        parts.append(f'<line x1="{LEFT}" y1="{y(decade)}" x2="{W - RIGHT}" '
                     f'y2="{y(decade)}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(decade) + 4}" '
                     f'text-anchor="end">{decade:g} ms</text>')
        decade *= 10
    parts.append(f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">'
                 'percentile</text>')
    for i, (label, h) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        pts = " ".join(f"{x(n):.1f},{y(ms):.1f}" for n, ms in _points(h))
        parts.append(f'<polyline fill="none" stroke="{color}" '
                     f'stroke-width="2" points="{pts}"/>')
        parts.append(f'<text x="{LEFT + 10}" y="{TOP + 16 + 16 * i}" '
                     f'fill="{color}">{label} ({h["count"]} samples)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
