// The demo's stand-in for an app backend's login: heraldd mints a user
// token for its demo app (POST /v1/demo/token, only with --web.demo-app).
// A real app's backend signs the token after its own login instead.

/** The demo user: ?user= in the address, else the last one, else ada. */
export function demoUser() {
  const asked = new URLSearchParams(location.search).get('user');
  const user = asked || localStorage.getItem('herald.demo.user') || 'ada';
  localStorage.setItem('herald.demo.user', user);
  return user;
}

/** { token, expires_at } for the user, as connect()'s token option takes. */
export async function demoToken(user) {
  const res = await fetch('/v1/demo/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error.message);
  return body;
}
