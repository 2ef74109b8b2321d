// Principals: an app's merchants, stores, users, store memberships and
// topic subscriptions. Herald's admin API has no routes for them, so these
// forms act as the app with its API key (kept for this tab when the
// console created or rotated it, or pasted here). A user's live state comes
// from the debug route, with the admin token.
import { admin, appKeys, appNames, asApp } from './api.js';
import { act, h, notice, pill, values } from './dom.js';

const enc = encodeURIComponent;

// Each form: its fields and the call it makes from their values.
const FORMS = [
  { title: 'Merchant', fields: ['merchant', 'name'],
    call: (v) => ['PUT', `/v1/merchants/${enc(v.merchant)}`, { name: v.name || undefined }] },
  { title: 'Store', fields: ['store', 'merchant', 'name'],
    call: (v) => ['PUT', `/v1/stores/${enc(v.store)}`, { merchant: v.merchant, name: v.name || undefined }] },
  { title: 'User', fields: ['user', 'merchant', 'time_zone', 'phone'],
    call: (v) => ['PUT', `/v1/users/${enc(v.user)}`, {
      merchant: v.merchant || undefined, time_zone: v.time_zone || undefined, phone: v.phone || undefined }] },
  { title: 'Store member', fields: ['store', 'user'], remove: true,
    call: (v, del) => [del ? 'DELETE' : 'PUT', `/v1/stores/${enc(v.store)}/members/${enc(v.user)}`] },
  { title: 'Topic subscriber', fields: ['topic', 'user'], remove: true,
    call: (v, del) => [del ? 'DELETE' : 'PUT', `/v1/topics/${enc(v.topic)}/subscribers/${enc(v.user)}`] },
];

export function principalsPanel(box) {
  const app = h('select', { name: 'app' });
  const key = h('input', { name: 'api_key', type: 'password', placeholder: 'hk_…', autocomplete: 'off' });
  app.onchange = () => { key.value = appKeys.get(app.value); };
  key.onchange = () => appKeys.set(app.value, key.value.trim());

  const forms = FORMS.map((f) => {
    const form = h('form', { class: 'grid card', dataset: { form: f.title } },
      h('h3', { style: 'grid-column:1/-1' }, f.title),
      f.fields.map((n, i) => h('label', null, n.replace('_', ' '), h('input', { name: n, required: i === 0 }))),
      h('div', { class: 'row' }, h('button', { value: 'put' }, 'Save'),
        f.remove && h('button', { class: 'danger', value: 'delete' }, 'Remove')));
    form.onsubmit = (e) => {
      e.preventDefault();
      const del = e.submitter && e.submitter.value === 'delete';
      act(box, e.submitter, async () => {
        if (!key.value.trim()) throw new Error(`the API key of ${app.value} is needed: rotate it under Apps, or paste it`);
        const [method, path, body] = f.call(values(form), del);
        const r = await asApp(key.value.trim(), method, path, body);
        notice(box, `${method} ${path}: ${JSON.stringify(r)}`);
      });
    };
    return form;
  });

  const who = h('input', { name: 'user', placeholder: 'ada', required: true });
  const live = h('div');
  const lookup = h('form', { class: 'row' }, h('label', { class: 'grow' }, 'User', who), h('button', null, 'Look up'));
  lookup.onsubmit = (e) => {
    e.preventDefault();
    act(box, e.submitter, async () => {
      const u = await admin('GET', `/v1/admin/debug/users/${enc(app.value)}/${enc(who.value.trim())}`);
      live.replaceChildren(
        h('div', { class: 'row' }, u.active ? pill('active', 'open') : pill('not active', 'closed'),
          u.active && `last seq ${u.last_seq} · acked ${u.acked_seq}`),
        h('ul', { class: 'list' }, (u.sessions || []).map((s) => h('li', null,
          h('div', { class: 'grow' }, `${s.transport} from ${s.remote}`,
            h('div', { class: 'muted' }, `sent ${s.last_sent_seq} · acked ${s.last_acked_seq} · unacked ${s.unacked} · queued ${s.queued_bytes} B`))))));
    });
  };

  box.append(h('h2', null, 'Principals'),
    h('p', { class: 'muted' }, 'Merchants, stores, users and topics belong to an app and are changed with its API key.'),
    h('form', { class: 'row', onsubmit: (e) => e.preventDefault() },
      h('label', { class: 'grow' }, 'App', app), h('label', { class: 'grow' }, 'API key', key)),
    ...forms,
    h('section', { class: 'card' }, h('h3', null, 'A user, live'), lookup, live));
  return {
    show: () => act(box, null, async () => {
      const chosen = app.value;
      app.replaceChildren(...(await appNames()).map((n) => h('option', { value: n }, n)));
      if (chosen) app.value = chosen;
      key.value = appKeys.get(app.value);
    }),
  };
}
