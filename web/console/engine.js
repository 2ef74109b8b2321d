// The engine, live: key figures from GET /metrics, the sms and mobile
// queues from GET /v1/admin/channels and the supervised actor tree from
// GET /v1/admin/debug/tree, refreshed every two seconds while this panel
// is open.
import { admin } from './api.js';
import { act, h, pill } from './dom.js';
import { byLabel, parseMetrics, quantile, total } from './metrics.js';

const KNOWN = new Set(['kind', 'name', 'id', 'state', 'mailbox', 'restarts', 'uptime_ms', 'children']);

const seconds = (s) => (s == null ? '—' : s === Infinity ? '> max' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s} s`);

function figures(samples) {
  const connections = byLabel(samples, 'herald_connections', 'transport');
  const messages = byLabel(samples, 'herald_messages_total', 'outcome');
  const deliveries = byLabel(samples, 'herald_deliveries_total', 'event');
  const rows = [
    ['Connections', total(samples, 'herald_connections')],
    ...Object.entries(connections).map(([t, n]) => [`· ${t}`, n]),
    ['Active users', total(samples, 'herald_users_active')],
    ...Object.entries(messages).map(([o, n]) => [`Messages ${o}`, n]),
    ...Object.entries(deliveries).map(([e, n]) => [`Deliveries ${e}`, n]),
    ['Commit → send p50', seconds(quantile(samples, 'herald_commit_to_send_seconds', 0.5))],
    ['Commit → send p99', seconds(quantile(samples, 'herald_commit_to_send_seconds', 0.99))],
    ['Supervisor restarts', total(samples, 'herald_supervisor_restarts')],
    ['User actor restarts', total(samples, 'herald_user_restarts')],
    ['Listener reconnects', total(samples, 'herald_listener_reconnects')],
    ...Object.entries(byLabel(samples, 'herald_provider_requests_total', 'outcome'))
      .map(([o, n]) => [`Provider requests ${o}`, n]),
  ];
  return rows.map(([k, v]) => h('div', { dataset: { figure: k } }, h('dt', null, k), h('dd', null, v)));
}

const QUEUE_COLUMNS = ['app_name', 'channel', 'due', 'held', 'retrying', 'sent_last_hour', 'failed', 'dead'];

function channelRows(view) {
  if (!view.queues.length) return [h('p', { class: 'muted' }, 'No sms or mobile deliveries yet.')];
  const table = h('table', { class: 'queues' },
    h('thead', null, h('tr', null, QUEUE_COLUMNS.map((c) => h('th', null, c.replace(/_/g, ' '))))),
    h('tbody', null, view.queues.map((q) => h('tr', null, QUEUE_COLUMNS.map((c) => h('td', null, String(q[c])))))));
  const dead = view.dead_letters.slice(0, 10).map((d) =>
    h('li', null, `#${d.delivery_id} message ${d.message_id} ${d.app}/${d.channel}: `,
      h('span', { class: 'muted' }, `${d.reason_code} — ${d.error}`)));
  return [h('div', { class: 'scroll' }, table), dead.length > 0 && h('ul', { class: 'dead' }, dead)];
}

function node(n) {
  const extra = Object.entries(n)
    .filter(([k, v]) => !KNOWN.has(k) && v !== null && v !== '' && typeof v !== 'object')
    .map(([k, v]) => `${k} ${v}`);
  const lists = Object.entries(n)
    .filter(([k, v]) => k !== 'children' && Array.isArray(v))
    .map(([k, v]) => `${k}: ${v.length}`);
  return h('li', { dataset: { kind: n.kind || '' } },
    h('div', { class: 'node' },
      h('strong', null, n.name || n.kind || '?'),
      n.kind && n.name && h('span', { class: 'muted' }, n.kind),
      n.state && pill(n.state),
      n.mailbox != null && h('span', { class: 'muted' }, `mailbox ${n.mailbox}`),
      n.restarts ? h('span', { class: 'muted' }, `restarts ${n.restarts}`) : null,
      n.uptime_ms != null && h('span', { class: 'muted' }, `up ${Math.round(n.uptime_ms / 1000)} s`),
      [...extra, ...lists].length > 0 && h('span', { class: 'muted' }, [...extra, ...lists].join(' · '))),
    Array.isArray(n.children) && n.children.length > 0 && h('ul', null, n.children.map(node)));
}

export function enginePanel(box) {
  const figs = h('dl', { class: 'figures', id: 'figures' });
  const tree = h('ul', { class: 'tree', id: 'tree' });
  const queues = h('div', { id: 'channels' });
  const auto = h('input', { type: 'checkbox', checked: true });
  let timer = 0;

  async function refresh() {
    const [text, root, channels] = await Promise.all([
      admin('GET', '/metrics'), admin('GET', '/v1/admin/debug/tree'), admin('GET', '/v1/admin/channels')]);
    figs.replaceChildren(...figures(parseMetrics(text)));
    queues.replaceChildren(...channelRows(channels).filter(Boolean));
    tree.replaceChildren(node(root));
  }
  function loop() {
    clearTimeout(timer);
    if (!box.isConnected || box.classList.contains('hidden') || !auto.checked) return;
    act(box, null, refresh).then(() => { timer = setTimeout(loop, 2000); });
  }
  auto.onchange = loop;

  box.append(
    h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Engine'),
      h('label', null, auto, ' refresh every 2 s')),
    h('h3', null, 'Key figures'), figs,
    h('h3', { style: 'margin-top:1rem' }, 'SMS and mobile queues'), queues,
    h('h3', { style: 'margin-top:1rem' }, 'Actor tree'), tree);
  return { show: loop };
}
