// The console's reading of Prometheus text: samples, sums by label, and
// quantiles from histogram buckets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byLabel, parseMetrics, quantile, total } from '../../web/console/metrics.js';

const TEXT = `# HELP herald_connections Open client connections.
# TYPE herald_connections gauge
herald_connections{transport="websocket"} 3
herald_connections{transport="sse"} 1
herald_connections{transport="poll"} 0
herald_users_active 2
herald_messages_total{outcome="processed",note="a \\"quoted\\" label"} 40
herald_messages_total{outcome="rejected"} 2
herald_commit_to_send_seconds_bucket{le="0.005"} 10
herald_commit_to_send_seconds_bucket{le="0.01"} 18
herald_commit_to_send_seconds_bucket{le="0.1"} 20
herald_commit_to_send_seconds_bucket{le="+Inf"} 20
herald_commit_to_send_seconds_sum 0.12
herald_commit_to_send_seconds_count 20
`;

test('samples with labels, escaped quotes included', () => {
  const samples = parseMetrics(TEXT);
  assert.equal(samples.length, 12);
  assert.deepEqual(samples[4].labels, { outcome: 'processed', note: 'a "quoted" label' });
  assert.equal(samples[3].value, 2);
});

test('sums and values by label', () => {
  const samples = parseMetrics(TEXT);
  assert.equal(total(samples, 'herald_connections'), 4);
  assert.equal(total(samples, 'herald_connections', { transport: 'sse' }), 1);
  assert.deepEqual(byLabel(samples, 'herald_messages_total', 'outcome'), { processed: 40, rejected: 2 });
  assert.equal(total(samples, 'herald_nothing'), 0);
});

test('quantiles are the bound of the bucket that holds them', () => {
  const samples = parseMetrics(TEXT);
  assert.equal(quantile(samples, 'herald_commit_to_send_seconds', 0.5), 0.005);
  assert.equal(quantile(samples, 'herald_commit_to_send_seconds', 0.9), 0.01);
  assert.equal(quantile(samples, 'herald_commit_to_send_seconds', 0.99), 0.1);
  assert.equal(quantile(parseMetrics('x_bucket{le="+Inf"} 0\n'), 'x', 0.5), null);
});
