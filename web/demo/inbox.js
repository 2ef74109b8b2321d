// The demo inbox: history from GET /v1/me/messages, live messages from
// herald.js, both shown once per message id, newest first.
import { connect } from '../herald.js';
import { demoToken, demoUser } from './demo-token.js';

const $ = (id) => document.getElementById(id);
const list = $('messages');
const shown = new Map(); // message id -> its <li>
let unread = 0;

const user = demoUser();
document.forms.who.user.value = user;
document.forms.who.onsubmit = (e) => {
  e.preventDefault();
  location.search = `?user=${encodeURIComponent(e.target.user.value.trim())}`;
};
$('hint').textContent =
  `SELECT herald.publish('demo', 'note', 'user:${user}',\n` +
  `  '{"title": "Hello", "body": "from psql"}');`;

function setUnread(n) {
  unread = Math.max(0, n);
  $('unread').textContent = unread;
  $('unread').classList.toggle('zero', unread === 0);
}

function showError(text) {
  $('error').textContent = text;
  $('error').classList.toggle('hidden', !text);
}

// One message as a list item; `where` is 'top' for live, 'end' for older.
function show(m, where) {
  if (shown.has(m.id)) return;
  const li = document.createElement('li');
  li.dataset.id = m.id;
  li.dataset.seq = m.seq;
  const isUnread = !m.read_at;
  li.classList.toggle('unread', isUnread);
  const text = document.createElement('div');
  text.className = 'grow';
  const title = document.createElement('div');
  title.className = 'title';
  title.textContent = m.title || m.template;
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = m.body;
  const when = document.createElement('div');
  when.className = 'muted';
  when.textContent = `#${m.seq} · ${new Date(m.created_at).toLocaleString()}`;
  text.append(title, body, when);
  li.append(text);
  if (isUnread) {
    const read = document.createElement('button');
    read.className = 'quiet';
    read.textContent = 'Mark read';
    read.onclick = () => markRead(m.id, li, read);
    li.append(read);
  }
  shown.set(m.id, li);
  if (where === 'top') list.prepend(li);
  else list.append(li);
  $('empty').classList.add('hidden');
}

async function markRead(id, li, button) {
  button.disabled = true;
  try {
    await herald.markRead(id);
    li.classList.remove('unread');
    button.remove();
    setUnread(unread - 1);
  } catch (e) {
    button.disabled = false;
    showError(`Could not mark read: ${e.message}`);
  }
}

let nextBefore = null;
async function loadOlder() {
  const page = await herald.history({ limit: 20, before: nextBefore });
  page.messages.forEach((m) => show(m, 'end'));
  nextBefore = page.next_before;
  $('older').classList.toggle('hidden', !nextBefore);
}
$('older').onclick = () => loadOlder().catch((e) => showError(e.message));

// History first, then live from the newest seq it showed: a browser that
// has never been here does not replay what the list already has.
const first = await demoToken(user).catch((e) => showError(e.message));
let page = { messages: [], unread: 0, next_before: null };
if (first) {
  const res = await fetch('/v1/me/messages?limit=20', {
    headers: { Authorization: `Bearer ${first.token}` },
  });
  if (res.ok) page = await res.json();
}
page.messages.forEach((m) => show(m, 'end'));
setUnread(page.unread);
nextBefore = page.next_before;
$('older').classList.toggle('hidden', !nextBefore);

let handed = first;
const herald = connect(location.origin, {
  token: () => {
    const t = handed;
    handed = null;
    return t ? Promise.resolve(t) : demoToken(user);
  },
  lastSeq: page.messages.length ? page.messages[0].seq : 0,
});
window.herald = herald; // for the browser console and the tests

herald.on('message', (m) => {
  if (!shown.has(m.id)) setUnread(unread + 1);
  show(m, 'top');
});
herald.on('state', ({ state, transport }) => {
  $('state').textContent = state;
  $('state').className = `pill ${state}`;
  $('transport').textContent = transport || '–';
  if (state === 'open') showError('');
});
herald.on('error', (e) => {
  if (herald.state !== 'open') showError(`${e.code}: ${e.message || ''}`);
});
