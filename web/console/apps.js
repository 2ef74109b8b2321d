// Apps: create (the API key and token secret are shown once), list,
// disable and enable, rotate the API key or the token secret.
import { admin, appKeys } from './api.js';
import { act, h, list, notice, pill, values, when } from './dom.js';

export function appsPanel(box) {
  const items = h('ul', { class: 'list', id: 'app-list' });
  const form = h('form', { class: 'grid', id: 'app-create' },
    h('label', null, 'Name', h('input', { name: 'name', required: true, placeholder: 'shop', pattern: '[a-z0-9][a-z0-9_-]{0,62}' })),
    h('label', null, 'Allowed origins (comma-separated, * for any)',
      h('input', { name: 'origins', value: '*' })),
    h('fieldset', { class: 'row' }, h('legend', { class: 'muted' }, 'Channels'),
      ['web', 'sms', 'mobile'].map((c) => h('label', null,
        h('input', { type: 'checkbox', name: 'channels', value: c, checked: true }), ` ${c}`))),
    h('button', null, 'Create app'));

  const showSecret = (text, secret) =>
    notice(box, text, false, h('div', { class: 'secret' }, secret));

  form.onsubmit = (e) => {
    e.preventDefault();
    const v = values(form);
    act(box, form.querySelector('button'), async () => {
      const app = await admin('POST', '/v1/admin/apps', {
        name: v.name, allowed_origins: list(v.origins), allowed_channels: v.channels,
      });
      appKeys.set(app.name, app.api_key);
      form.reset();
      await refresh();
      showSecret(`App ${app.name} created. Its API key and token secret are shown only now:`,
        `api_key: ${app.api_key}\ntoken_secret: ${app.token_secret}`);
    });
  };

  function row(app) {
    const button = (label, cls, fn) => {
      const b = h('button', { class: cls, dataset: { action: label } }, label);
      b.onclick = () => act(box, b, fn);
      return b;
    };
    return h('li', { dataset: { app: app.name } },
      h('div', { class: 'grow' },
        h('div', { class: 'row' }, h('strong', null, app.name),
          app.disabled ? pill('disabled') : pill('enabled', 'open')),
        h('div', { class: 'muted' },
          `origins: ${app.allowed_origins.join(', ') || 'none'} · channels: ${app.allowed_channels.join(', ')} · since ${when(app.created_at)}`),
        h('div', { class: 'row' },
          button(app.disabled ? 'Enable' : 'Disable', app.disabled ? 'quiet' : 'danger', async () => {
            await admin('PATCH', `/v1/admin/apps/${app.name}`, { disabled: !app.disabled });
            await refresh();
          }),
          button('Rotate API key', 'quiet', async () => {
            const r = await admin('POST', `/v1/admin/apps/${app.name}/api-key`);
            appKeys.set(app.name, r.api_key);
            showSecret(`New API key of ${app.name} (the old one no longer works):`, r.api_key);
          }),
          button('Rotate token secret', 'quiet', async () => {
            const r = await admin('POST', `/v1/admin/apps/${app.name}/token-secret`);
            showSecret(`New token secret of ${app.name} (tokens signed with the old one are refused):`, r.token_secret);
          }))));
  }

  async function refresh() {
    const { apps } = await admin('GET', '/v1/admin/apps');
    items.replaceChildren(...apps.map(row));
    if (!apps.length) items.append(h('li', { class: 'muted' }, 'No apps yet.'));
  }

  box.append(h('h2', null, 'Apps'), form, h('h3', { style: 'margin-top:1rem' }, 'All apps'), items);
  return { show: () => act(box, null, refresh) };
}
