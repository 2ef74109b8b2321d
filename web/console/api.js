// Calls to heraldd as the operator (the admin token, kept for this tab
// only in sessionStorage) or as an app (its API key).

const KEY = 'herald.console.admin-token';

export const adminToken = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

async function call(credential, method, path, body) {
  const headers = { Authorization: `Bearer ${credential}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = (res.headers.get('content-type') || '').includes('json');
  const data = json && text ? JSON.parse(text) : text;
  if (!res.ok) {
    const error = (data && data.error) || { message: `HTTP ${res.status}` };
    throw Object.assign(new Error(error.message), error, { status: res.status });
  }
  return data;
}

/** An admin API call: admin('GET', '/v1/admin/apps'). */
export const admin = (method, path, body) =>
  call(adminToken.get(), method, path, body);

/** A call as an app, with its API key. */
export const asApp = (key, method, path, body) => call(key, method, path, body);

// API keys are shown once, when created or rotated: kept for this tab so
// the principals forms can act as the app.
export const appKeys = {
  get: (app) => sessionStorage.getItem(`herald.console.key.${app}`) || '',
  set: (app, key) => sessionStorage.setItem(`herald.console.key.${app}`, key),
};

/** The names of every app, for the selects of the other panels. */
export async function appNames() {
  return (await admin('GET', '/v1/admin/apps')).apps.map((a) => a.name);
}

export const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) s.set(k, v);
  return `${s}`;
};
