// Messages, newest first, by state and app: why a message was rejected,
// and each delivery's state with the reason it was held back.
import { admin, appNames, q } from './api.js';
import { act, h, newestOnly, pill, when } from './dom.js';

export function messagesPanel(box) {
  const state = h('select', { name: 'state' },
    ['', 'pending', 'processed', 'rejected', 'suppressed'].map((s) =>
      h('option', { value: s }, s || 'any state')));
  const app = h('select', { name: 'app' }, h('option', { value: '' }, 'every app'));
  const items = h('ul', { class: 'list', id: 'message-list' });
  const older = h('button', { class: 'quiet hidden' }, 'Older');
  let nextBefore = null;
  const newest = newestOnly();

  const delivery = (d) => h('li', null, h('div', { class: 'grow' },
    h('div', { class: 'row' }, `${d.user} · ${d.channel}`, pill(d.state), d.seq != null && `seq ${d.seq}`),
    (d.reason_code || d.reason) && h('div', { class: 'muted' }, `${d.reason_code || ''} ${d.reason || ''}`)));

  const row = (m) => h('li', { dataset: { message: m.id } }, h('div', { class: 'grow' },
    h('div', { class: 'row' }, h('strong', null, `#${m.id}`), `${m.app}/${m.template}`, pill(m.state)),
    h('div', { class: 'muted' }, `${m.targets.join(', ')} · ${m.recipients ?? 0} recipient(s) · ${when(m.created_at)}`),
    m.reject_code && h('div', { class: 'notice bad' }, `${m.reject_code}: ${m.reject_message}`),
    m.unresolved_targets && m.unresolved_targets.length > 0 &&
      h('div', { class: 'muted' }, `resolved to nobody: ${m.unresolved_targets.join(', ')}`),
    h('details', null, h('summary', null, `${m.deliveries.length} deliveries · data`),
      h('pre', null, JSON.stringify(m.data)),
      h('ul', { class: 'list' }, m.deliveries.map(delivery)))));

  async function load(more) {
    const page = await newest(admin('GET', `/v1/admin/messages?${q({
      state: state.value, app: app.value, limit: 20, before: more ? nextBefore : '' })}`));
    if (!page) return;
    if (!more) items.replaceChildren();
    items.append(...page.messages.map(row));
    if (!items.children.length) items.append(h('li', { class: 'muted' }, 'No messages.'));
    nextBefore = page.next_before;
    older.classList.toggle('hidden', !nextBefore);
  }
  state.onchange = app.onchange = () => act(box, null, () => load(false));

  // One message by id, whatever its app and state.
  const id = h('input', { name: 'id', inputmode: 'numeric', placeholder: 'message id' });
  const find = h('form', { class: 'row' }, h('label', { class: 'grow' }, 'Find', id), h('button', { class: 'quiet' }, 'Show'));
  find.onsubmit = (e) => {
    e.preventDefault();
    act(box, e.submitter, async () => {
      const m = await newest(admin('GET', `/v1/admin/messages/${encodeURIComponent(id.value.trim())}`));
      if (!m) return;
      items.replaceChildren(row(m));
      older.classList.add('hidden');
    });
  };
  older.onclick = () => act(box, older, () => load(true));

  box.append(h('h2', null, 'Messages'),
    h('div', { class: 'row' }, h('label', { class: 'grow' }, 'State', state), h('label', { class: 'grow' }, 'App', app)),
    find, items, older);
  return {
    show: () => act(box, null, async () => {
      const chosen = app.value;
      app.replaceChildren(h('option', { value: '' }, 'every app'),
        ...(await appNames()).map((n) => h('option', { value: n }, n)));
      app.value = chosen;
      await load(false);
    }),
  };
}
