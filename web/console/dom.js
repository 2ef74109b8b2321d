// A small element builder: the console has no framework.

/** h('li', { class: 'x', onclick: f }, 'text', child) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v != null) el.setAttribute(k, v);
  }
  for (const c of children.flat())
    if (c != null && c !== false)
      el.append(c instanceof Node ? c : String(c));
  return el;
}

export const pill = (text, kind = text) => h('span', { class: `pill ${kind}` }, text);

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/** A notice at the top of `box`, replacing the previous one. */
export function notice(box, text, bad = false, ...extra) {
  box.querySelectorAll(':scope > .notice').forEach((n) => n.remove());
  if (text) box.prepend(h('p', { class: `notice${bad ? ' bad' : ''}` }, text, ...extra));
}

/** Runs an async action for a button: disabled meanwhile, errors shown in box. */
export async function act(box, button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    notice(box, `${e.code ? `${e.code}: ` : ''}${e.message}`, true);
  } finally {
    if (button) button.disabled = false;
  }
}

/** Values of a form's named fields, text trimmed, checkboxes grouped by name. */
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') {
      out[el.name] = out[el.name] || [];
      if (el.checked) out[el.name].push(el.value);
    } else {
      out[el.name] = el.value.trim();
    }
  }
  return out;
}

export const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

// A list that several requests may fill (a filter changed while the
// panel's first page was on its way) shows the newest request's answer:
// `const page = await newest(admin(...)); if (!page) return;`
export function newestOnly() {
  let count = 0;
  return async (request) => {
    const mine = ++count;
    const answer = await request;
    return mine === count ? answer : null;
  };
}
