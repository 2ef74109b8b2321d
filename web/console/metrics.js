// Prometheus text format (GET /metrics) into samples and the few figures
// the console shows. Pure functions, no DOM.

/** [{ name, labels, value }] of every sample line. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue; // comments (# HELP, # TYPE) and blank lines
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `match`. */
export function total(samples, name, match = {}) {
  return samples
    .filter((s) => s.name === name &&
      Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** Values of `name` by one label: { web: 3, sse: 1 }. */
export function byLabel(samples, name, label) {
  const out = {};
  for (const s of samples)
    if (s.name === name) out[s.labels[label]] = (out[s.labels[label]] || 0) + s.value;
  return out;
}

/** The upper bound of the histogram bucket holding quantile q (0..1), or
 *  null with no observations: what a histogram can say, no more. */
export function quantile(samples, name, q) {
  const buckets = {};
  for (const s of samples)
    if (s.name === `${name}_bucket`)
      buckets[s.labels.le] = (buckets[s.labels.le] || 0) + s.value;
  const bounds = Object.keys(buckets)
    .map((le) => [le === '+Inf' ? Infinity : Number(le), buckets[le]])
    .sort((a, b) => a[0] - b[0]);
  const count = bounds.length ? bounds[bounds.length - 1][1] : 0;
  if (!count) return null;
  return bounds.find(([, n]) => n >= q * count)[0];
}
