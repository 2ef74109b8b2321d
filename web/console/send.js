// "Send test message": publish as an app with the admin token, then follow
// the message until it is processed or rejected.
import { admin, appNames } from './api.js';
import { act, h, list, newestOnly, notice, pill, values } from './dom.js';

export function sendPanel(box) {
  const app = h('select', { name: 'app' });
  const template = h('select', { name: 'template' });
  const result = h('div', { id: 'send-result' });
  const form = h('form', { class: 'grid', id: 'send-form' },
    h('label', null, 'App', app),
    h('label', null, 'Template (approved)', template),
    h('label', null, 'Targets (comma-separated)', h('input', { name: 'targets', value: 'user:ada', required: true })),
    h('label', { style: 'grid-column:1/-1' }, 'Data (JSON object)',
      h('textarea', { name: 'data', value: '{"title": "Test", "body": "Sent from the console"}' })),
    h('fieldset', { class: 'row' }, h('legend', { class: 'muted' }, 'Channels (none: every channel of the template)'),
      ['web', 'sms', 'mobile'].map((c) => h('label', null, h('input', { type: 'checkbox', name: 'channels', value: c }), ` ${c}`))),
    h('button', null, 'Send test message'));

  const newest = newestOnly();
  async function templatesOf(name) {
    const answer = await newest(admin('GET', `/v1/admin/templates?status=approved&app=${encodeURIComponent(name)}`));
    if (!answer) return;
    const { templates } = answer;
    template.replaceChildren(...templates.map((t) => h('option', { value: t.code }, `${t.code} v${t.version}`)));
  }
  app.onchange = () => act(box, null, () => templatesOf(app.value));

  form.onsubmit = (e) => {
    e.preventDefault();
    const v = values(form);
    act(box, e.submitter, async () => {
      let data;
      try {
        data = JSON.parse(v.data || '{}');
      } catch (err) {
        throw new Error(`data: not JSON (${err.message})`);
      }
      const body = { template: v.template, targets: list(v.targets), data };
      if (v.channels.length) body.channels = v.channels;
      const r = await admin('POST', `/v1/admin/apps/${encodeURIComponent(v.app)}/messages`, body);
      notice(box, `Message #${r.id} accepted.`);
      await follow(r.id);
    });
  };

  // The expansion follows within milliseconds; look a few times.
  async function follow(id) {
    for (let i = 0; i < 20; i++) {
      const m = await admin('GET', `/v1/admin/messages/${id}`);
      result.replaceChildren(h('div', { class: 'row' }, `#${m.id}`, pill(m.state),
        `${m.recipients ?? 0} recipient(s)`, m.reject_code && `${m.reject_code}: ${m.reject_message}`));
      if (m.state !== 'pending') return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  box.append(h('h2', null, 'Send test message'), form, result);
  return {
    show: () => act(box, null, async () => {
      const chosen = app.value;
      app.replaceChildren(...(await appNames()).map((n) => h('option', { value: n }, n)));
      if (chosen) app.value = chosen;
      if (app.value) await templatesOf(app.value);
    }),
  };
}
