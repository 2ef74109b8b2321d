// Template applications: the versions apps applied for, approved or
// rejected here with a reason the app sees.
import { admin, appNames, q } from './api.js';
import { act, h, newestOnly, notice, pill, when } from './dom.js';

export function templatesPanel(box) {
  const status = h('select', { name: 'status' },
    ['pending', 'approved', 'rejected', 'retired', ''].map((s) =>
      h('option', { value: s }, s || 'any status')));
  const app = h('select', { name: 'app' }, h('option', { value: '' }, 'every app'));
  const items = h('ul', { class: 'list', id: 'template-list' });
  const newest = newestOnly();
  status.onchange = app.onchange = () => act(box, null, refresh);

  const texts = (t) => ['web_title', 'web_body', 'sms_body', 'mobile_title', 'mobile_body']
    .filter((f) => t[f]).map((f) => h('div', null, h('span', { class: 'muted' }, `${f}: `), h('code', null, t[f])));

  function decide(t, decision, reason, button) {
    if (decision === 'reject' && !reason) {
      notice(box, 'Say why the template is rejected: the app sees the reason.', true);
      return;
    }
    act(box, button, async () => {
      const body = reason ? { reason } : {};
      const r = await admin('POST', `/v1/admin/templates/${t.id}/${decision}`, body);
      notice(box, `${r.app}/${r.code} v${r.version} ${r.status}.`);
      await refresh();
    });
  }

  function row(t) {
    const li = h('li', { dataset: { template: t.id, code: t.code } });
    const reason = h('input', { name: 'reason', placeholder: 'reason (required to reject)' });
    const approve = h('button', { dataset: { action: 'approve' } }, 'Approve');
    const reject = h('button', { class: 'danger', dataset: { action: 'reject' } }, 'Reject');
    approve.onclick = () => decide(t, 'approve', reason.value.trim(), approve);
    reject.onclick = () => decide(t, 'reject', reason.value.trim(), reject);
    li.append(h('div', { class: 'grow' },
      h('div', { class: 'row' }, h('strong', null, `${t.app}/${t.code}`), `v${t.version}`, pill(t.status)),
      h('div', { class: 'muted' }, `type ${t.message_type} · ${t.locale} · applied ${when(t.created_at)}` +
        (t.required_vars.length ? ` · requires ${t.required_vars.join(', ')}` : '')),
      texts(t),
      t.status_reason && h('div', { class: 'muted' }, `reason: ${t.status_reason}`),
      t.status === 'pending' && h('div', { class: 'row' }, h('div', { class: 'grow' }, reason), approve, reject)));
    return li;
  }

  async function refresh() {
    const answer = await newest(admin('GET', `/v1/admin/templates?${q({ status: status.value, app: app.value })}`));
    if (!answer) return;
    const { templates } = answer;
    items.replaceChildren(...templates.map(row));
    if (!templates.length) items.append(h('li', { class: 'muted' }, 'Nothing here.'));
  }

  box.append(h('h2', null, 'Template applications'),
    h('div', { class: 'row' }, h('label', { class: 'grow' }, 'Status', status), h('label', { class: 'grow' }, 'App', app)),
    items);
  return {
    show: () => act(box, null, async () => {
      const chosen = app.value;
      app.replaceChildren(h('option', { value: '' }, 'every app'),
        ...(await appNames()).map((n) => h('option', { value: n }, n)));
      app.value = chosen;
      await refresh();
    }),
  };
}
