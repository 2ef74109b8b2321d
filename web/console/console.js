// The operator console: sign in with the admin token (kept for this tab),
// then one panel per job.
import { admin, adminToken } from './api.js';
import { appsPanel } from './apps.js';
import { h, notice } from './dom.js';
import { enginePanel } from './engine.js';
import { messagesPanel } from './messages.js';
import { principalsPanel } from './principals.js';
import { sendPanel } from './send.js';
import { templatesPanel } from './templates.js';

const PANELS = [
  ['apps', 'Apps', appsPanel],
  ['templates', 'Templates', templatesPanel],
  ['principals', 'Principals', principalsPanel],
  ['messages', 'Messages', messagesPanel],
  ['send', 'Send test', sendPanel],
  ['engine', 'Engine', enginePanel],
];

const signin = document.getElementById('signin');
const main = document.getElementById('panels');
const tabs = document.getElementById('tabs');
const signout = document.getElementById('signout');

function start() {
  signin.classList.add('hidden');
  signout.classList.remove('hidden');
  const panels = PANELS.map(([id, title, make]) => {
    const box = h('section', { class: 'card hidden', id: `panel-${id}` });
    main.append(box);
    const panel = make(box);
    const tab = h('button', { role: 'tab', dataset: { panel: id } }, title);
    tab.onclick = () => select(id);
    tabs.append(tab);
    return { id, box, tab, panel };
  });
  function select(id) {
    for (const p of panels) {
      const on = p.id === id;
      p.box.classList.toggle('hidden', !on);
      p.tab.setAttribute('aria-selected', on);
    }
    history.replaceState(null, '', `#${id}`);
    panels.find((p) => p.id === id).panel.show();
  }
  const wanted = location.hash.slice(1);
  select(panels.some((p) => p.id === wanted) ? wanted : 'apps');
}

signin.onsubmit = async (e) => {
  e.preventDefault();
  adminToken.set(signin.token.value.trim());
  try {
    await admin('GET', '/v1/admin/apps'); // checks the token
    start();
  } catch (err) {
    adminToken.clear();
    notice(signin, `${err.code || 'error'}: ${err.message}`, true);
  }
};
signout.onclick = () => {
  adminToken.clear();
  location.reload();
};

if (adminToken.get()) start();
