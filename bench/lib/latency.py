"""Latency histograms as herald-bench prints them (bucket upper bounds and
counts in microseconds): merging across processes and reading quantiles."""

import bisect


def empty():
    return {"unit": "us", "bounds": [], "counts": [], "max": 0, "count": 0}


def merge(histograms):
    out = empty()
    for h in histograms:
        if not h or not h.get("bounds"):
            continue
        if not out["bounds"]:
            out["bounds"] = list(h["bounds"])
            out["counts"] = [0] * len(h["bounds"])
        out["counts"] = [a + b for a, b in zip(out["counts"], h["counts"])]
        out["max"] = max(out["max"], h["max"])
        out["count"] += h["count"]
    return out


def from_values(values_us, like):
    """A histogram of `values_us` with the bucket bounds of histogram
    `like`, as herald-bench fills them: a bucket holds the values below its
    bound and at or above the one before (the last one, everything above)."""
    out = empty()
    if not like or not like.get("bounds"):
        return out
    out["bounds"] = list(like["bounds"])
    out["counts"] = [0] * len(out["bounds"])
    for v in values_us:
        v = max(0, v)
        i = min(bisect.bisect_right(out["bounds"], v), len(out["bounds"]) - 1)
        out["counts"][i] += 1
        out["max"] = max(out["max"], v)
        out["count"] += 1
    return out


def quantile(h, q):
    """Upper bound of the bucket holding quantile q, in ms (None if empty)."""
    if not h or h["count"] == 0:
        return None
    rank = min(int(q * h["count"]), h["count"] - 1)
    seen = 0
    for bound, count in zip(h["bounds"], h["counts"]):
        seen += count
        if seen > rank:
            return min(bound, h["max"]) / 1000.0
    return h["max"] / 1000.0


def summary(h):
    """p50, p99, p99.9 and max in ms, and the count."""
    return {
        "count": h["count"] if h else 0,
        "p50_ms": quantile(h, 0.50),
        "p99_ms": quantile(h, 0.99),
        "p999_ms": quantile(h, 0.999),
        "max_ms": (h["max"] / 1000.0) if h and h["count"] else None,
    }


def compact(h):
    """The non-empty buckets only, for the JSON result files."""
    if not h or not h["bounds"]:
        return {"unit": "us", "buckets": [], "max": 0, "count": 0}
    return {"unit": "us",
            "buckets": [[b, c] for b, c in zip(h["bounds"], h["counts"]) if c],
            "max": h["max"], "count": h["count"]}
