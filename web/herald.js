// herald.js: the browser client of Herald's herald.v1 delivery protocol
// (docs/protocol.md). No dependencies; an ES module.
//
//   import { connect } from '/herald.js';
//   const herald = connect(location.origin, { token: fetchToken });
//   herald.on('message', (m) => show(m));
//   herald.on('state', ({ state, transport }) => status(state, transport));
//
// Delivery on the wire is at least once; this client drops every seq it has
// already passed on, so the page sees each message once and in order, on
// every transport and across reconnects and reloads.

const ALL = ['websocket', 'sse', 'poll'];

export function connect(url, options = {}) {
  const base = String(url).replace(/\/+$/, '');
  const o = {
    transports: ALL,
    storage: globalThis.localStorage,
    minDelay: 500,
    maxDelay: 30000,
    openTimeout: 8000,
    upgradeAfter: 60000,
    pollWait: 25,
    ...options,
  };
  if (!o.transports.length || o.transports.some((t) => !TRANSPORTS[t]))
    throw new Error(`transports: some of ${ALL.join(', ')}`);
  const listeners = {};
  const client = {
    state: 'connecting',
    transport: null,
    user: null,
    lastSeq: 0,
    on(type, fn) {
      (listeners[type] = listeners[type] || new Set()).add(fn);
      return () => listeners[type].delete(fn);
    },
    close,
    history,
    markRead,
  };
  let token = null;
  let claims = {};
  let key = null;
  let index = 0; // into o.transports: the transport in use or being tried
  let attempt = 0; // failures since the last good connection: the backoff
  let active = null; // the connection messages come from
  let probe = null; // a better transport being tried while active runs
  let ackTimer = 0;
  let unacked = 0; // messages passed on since the last ack
  let closed = false;
  const timers = {};

  const emit = (type, value) =>
    (listeners[type] || []).forEach((fn) => {
      try {
        fn(value);
      } catch (e) {
        setTimeout(() => { throw e; });
      }
    });
  const later = (name, fn, ms) => {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, ms);
  };
  const setState = (state, transport = client.transport) => {
    if (state === client.state && transport === client.transport) return;
    client.state = state;
    client.transport = transport;
    emit('state', { state, transport });
  };
  const fail = (code, message) => emit('error', { code, message });

  // The token's claims name the user, so the resume position is kept per
  // app and user: another user signing in on this browser starts afresh.
  function useToken(t) {
    token = t;
    try {
      const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      claims = JSON.parse(atob(part));
    } catch (e) {
      claims = {};
    }
    const k = `herald.seq.${claims.aud}.${claims.sub}`;
    if (k !== key) {
      key = k;
      client.user = claims.sub || null;
      const stored = +(o.storage && o.storage.getItem(key)) || 0;
      client.lastSeq = Math.max(stored, o.lastSeq || 0);
    }
    if (typeof o.token === 'function' && claims.exp && !closed) {
      // Refresh a fifth of the lifetime (at most a minute) before expiry.
      const left = claims.exp * 1000 - Date.now();
      const lead = Math.min(60000, (claims.exp - (claims.iat || 0)) * 200);
      later('refresh', refresh, Math.max(1000, left - lead));
    }
  }

  async function getToken(fresh) {
    const expired = claims.exp && claims.exp * 1000 < Date.now() + 5000;
    if (token && !fresh && !expired) return token;
    if (typeof o.token !== 'function') {
      if (token) throw Object.assign(new Error('token expired'), { auth: 1 });
      useToken(o.token);
      return token;
    }
    const got = await o.token();
    useToken(typeof got === 'string' ? got : got.token);
    return token;
  }

  async function refresh() {
    try {
      await getToken(true);
    } catch (e) {
      fail('token_refresh_failed', e.message);
      return later('refresh', refresh, 5000);
    }
    if (active && !closed) active.auth(token);
  }

  function deliver(m, c) {
    // What this connection has had: its acks name no more than that.
    c.seen = Math.max(c.seen || 0, m.seq);
    if (m.seq > client.lastSeq) {
      client.lastSeq = m.seq;
      try {
        if (o.storage && +o.storage.getItem(key) < m.seq)
          o.storage.setItem(key, m.seq);
      } catch (e) {
        // Storage full or denied: resume only works within this page.
      }
      emit('message', m);
    }
    // A resend is not passed on again, but acked: the ack it missed went
    // to a connection that is gone, and without one it keeps coming.
    // One cumulative ack for what arrives within a second, or for every
    // 64 messages: the server resends only after 5 s without one, and 64
    // stays well inside its window of 256 unacked messages.
    if (++unacked >= 64) ack();
    else if (!ackTimer) ackTimer = setTimeout(ack, 1000);
  }

  // Acks what the connection messages come from has had.
  function ack() {
    clearTimeout(ackTimer);
    ackTimer = 0;
    unacked = 0;
    if (active && active.seen) active.ack(active.seen);
  }

  function backoff() {
    const ceiling = Math.min(o.maxDelay, o.minDelay * 2 ** attempt++);
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  function start() {
    clearTimeout(timers.retry);
    if (closed || active) return;
    if (globalThis.navigator && navigator.onLine === false)
      return setState('offline', null);
    setState(attempt ? 'reconnecting' : 'connecting', o.transports[index]);
    active = open(index);
  }

  // Opens transport i. The connection counts as open at the server's
  // welcome; failing before that means the transport may be blocked here.
  function open(i) {
    const name = o.transports[i];
    const c = { name, opened: false, ack() {}, auth() {}, close() {} };
    const end = (why) => {
      if (c.done) return;
      c.done = true;
      clearTimeout(c.timer);
      clearInterval(c.watch);
      c.close();
      if (c === probe) {
        probe = null;
        later('upgrade', upgrade, o.upgradeAfter * 2);
      }
      if (c === active) {
        active = null;
        lost(c, why || {});
      }
    };
    c.timer = setTimeout(() => end({ code: 'open_timeout' }), o.openTimeout);
    // The watchdog: a server that promised heartbeats (heartbeat_ms in its
    // welcome) and sends nothing for that long is gone, even if the socket
    // does not say so yet (a dead network, a sleeping laptop). It counts on
    // the wall clock: a timer's clock may stand still while the machine
    // sleeps, and a connection that slept past its deadline is given up as
    // soon as the page runs again, not a whole deadline later. A clock set
    // back by more than the deadline costs a reconnect, not a dead wait.
    const alive = () => {
      c.heard = Date.now();
    };
    const watch = () => {
      if (Math.abs(Date.now() - c.heard) > c.beat) end({ code: 'heartbeat_timeout' });
    };
    getToken().then(
      (t) => {
        if (c.done) return;
        Object.assign(c, TRANSPORTS[name](t, {
          base,
          seq: () => client.lastSeq,
          // The server resumes this connection after `from`, below the
          // `claimed` seq the client connected with: its feed ends there (a
          // reset database, another deployment). Start over from there, or
          // every message up to the stored seq would be dropped as seen.
          resume(from, claimed) {
            if (c.done || !(from < claimed) || !(from < client.lastSeq)) return;
            client.lastSeq = from;
            try {
              if (o.storage) o.storage.setItem(key, from);
            } catch (e) {
              // As in deliver: resume then only works within this page.
            }
          },
          wait: o.pollWait,
          alive,
          opened(beat) {
            if (c.done || c.opened) return;
            c.opened = true;
            c.beat = beat;
            alive();
            if (beat) c.watch = setInterval(watch, Math.min(beat / 4, 5000));
            clearTimeout(c.timer);
            if (c === probe) {
              const old = active;
              probe = null;
              active = c;
              index = i;
              if (old) {
                old.done = true;
                clearTimeout(old.timer);
                old.close();
              }
            }
            attempt = 0;
            setState('open', name);
            if (index > 0) later('upgrade', upgrade, o.upgradeAfter);
          },
          message(m) {
            alive();
            if (c === active) deliver(m, c);
          },
          error(e) {
            fail(e.code, e.message);
          },
          lost: end,
        }));
      },
      (e) => end({ auth: e.auth, token: 1, code: 'token_unavailable', message: e.message }),
    );
    return c;
  }

  function lost(c, why) {
    if (closed) return;
    if (why.code || why.message) fail(why.code || 'disconnected', why.message);
    if (why.auth) {
      // A token the server refuses: get a fresh one before trying again.
      token = null;
      if (typeof o.token !== 'function') {
        clearTimers();
        return setState('closed', null);
      }
    }
    let delay = 0;
    if (!c.opened && !why.auth && !why.token) {
      // Never got a welcome: try the next transport at once; after the
      // last one, start again from the best after a backoff. (Without a
      // token, no transport could do better: just back off.)
      index = (index + 1) % o.transports.length;
      if (index === 0) delay = backoff();
    } else {
      delay = backoff();
    }
    setState('reconnecting', o.transports[index]);
    later('retry', start, delay);
  }

  // On a fallback transport: try the one above it now and then, and move
  // up once it says welcome. The current one runs until then.
  function upgrade() {
    if (closed || probe || !active || !active.opened || index === 0) return;
    probe = open(index - 1);
  }

  function stopAll() {
    for (const c of [active, probe])
      if (c) {
        c.done = true;
        clearTimeout(c.timer);
        c.close();
      }
    active = probe = null;
  }

  function clearTimers() {
    for (const name in timers) clearTimeout(timers[name]);
  }

  const onOffline = () => {
    stopAll();
    clearTimeout(timers.retry);
    clearTimeout(timers.upgrade);
    setState('offline', null);
  };
  // Back online, the network may be another one: start from the best.
  const onOnline = () => {
    if (closed || active) return;
    index = 0;
    attempt = 0;
    start();
  };

  function close() {
    closed = true;
    stopAll();
    clearTimers();
    if (globalThis.removeEventListener) {
      removeEventListener('offline', onOffline);
      removeEventListener('online', onOnline);
    }
    setState('closed', null);
  }

  async function call(method, path) {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${await getToken()}` },
    });
    const body = await res.json();
    if (!res.ok) throw Object.assign(new Error(body.error.message), body.error);
    return body;
  }

  // The user's web history, newest first: { messages, unread, next_before }.
  function history({ limit, before, unread } = {}) {
    const q = new URLSearchParams();
    if (limit) q.set('limit', limit);
    if (before) q.set('before', before);
    if (unread) q.set('unread', 'true');
    return call('GET', `/v1/me/messages?${q}`);
  }

  function markRead(id) {
    return call('POST', `/v1/me/messages/${encodeURIComponent(id)}/read`);
  }

  if (globalThis.addEventListener) {
    addEventListener('offline', onOffline);
    addEventListener('online', onOnline);
  }
  start();
  return client;
}

const query = (x, path, params) =>
  `${x.base}${path}?${new URLSearchParams(params)}`;
const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch (e) {
    return {};
  }
};

// Each transport takes the token and the hooks of its connection and
// returns { ack(seq), auth(token), close() }. It calls opened() on the
// server's welcome, message(m) per message in seq order, and lost(why)
// once when it ends by itself.
const TRANSPORTS = {
  websocket(token, x) {
    const ws = new WebSocket(
      query(x, '/v1/ws', { token }).replace(/^http/, 'ws'), 'herald.v1');
    const send = (f) => ws.readyState === 1 && ws.send(JSON.stringify(f));
    let claimed = 0;
    ws.onopen = () => {
      claimed = x.seq();
      send({ type: 'hello', last_seq: claimed, heartbeat: true, batch: true });
    };
    ws.onmessage = (e) => {
      x.alive();
      // With batch, one message may carry several frames, one per line.
      for (const line of e.data.split('\n')) {
        if (!ws.onmessage) return; // a handler closed the connection
        const f = parse(line);
        if (f.type === 'welcome') {
          x.resume(f.resume_from, claimed);
          x.opened(f.heartbeat_ms);
        }
        else if (f.type === 'msg') x.message(f);
        else if (f.type === 'error') x.error(f);
      }
    };
    // 4001: a bad token; 4002: it expired without a fresh one in time.
    ws.onclose = (e) =>
      x.lost({
        auth: e.code === 4001 || e.code === 4002,
        code: e.code > 1001 && e.code !== 1006 ? `close_${e.code}` : '',
        message: e.reason,
      });
    return {
      ack: (seq) => send({ type: 'ack', seq }),
      auth: (t) => send({ type: 'auth', token: t }),
      close() {
        ws.onclose = ws.onmessage = null;
        ws.close(1000);
      },
    };
  },

  // The browser's own reconnect would resend the old token in the URL, so
  // every end of the stream comes back here and a new one opens with
  // ?last_event_id= instead.
  sse(token, x) {
    let session = null;
    const claimed = x.seq();
    const es = new EventSource(
      query(x, '/v1/stream', { token, last_event_id: claimed, heartbeat: 1 }));
    es.addEventListener('welcome', (e) => {
      const f = parse(e.data);
      session = f.session;
      x.resume(f.resume_from, claimed);
      x.opened(f.heartbeat_ms);
    });
    es.addEventListener('heartbeat', x.alive);
    es.addEventListener('msg', (e) => x.message(parse(e.data)));
    // token_revoked: the app's token secret changed.
    es.addEventListener('error', (e) => {
      const f = e.data ? parse(e.data) : {};
      es.close();
      x.lost({ auth: /^token_/.test(f.code), code: f.code, message: f.message });
    });
    return {
      ack(seq) {
        if (session === null) return;
        fetch(`${x.base}/v1/ack`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ session, seq }),
        }).catch(() => {}); // unacked messages come again: nothing is lost
      },
      // The stream carries its token in the URL: reopen with the fresh one.
      auth: () => {
        es.close();
        x.lost({});
      },
      close: () => es.close(),
    };
  },

  // Each poll's `after` acknowledges everything before it. The first poll
  // does not wait, so a blocked or failing endpoint shows at once.
  poll(token, x) {
    const abort = new AbortController();
    (async () => {
      for (let wait = 0; ; wait = x.wait) {
        let res;
        let body;
        const claimed = x.seq();
        try {
          res = await fetch(query(x, '/v1/poll', { after: claimed, wait }), {
            headers: { Authorization: `Bearer ${token}` },
            signal: abort.signal,
          });
          body = await res.json();
        } catch (e) {
          return abort.signal.aborted || x.lost({});
        }
        if (!res.ok)
          return x.lost({
            auth: res.status === 401,
            code: body.error && body.error.code,
            message: body.error && body.error.message,
          });
        x.resume(body.resume_from, claimed);
        x.opened();
        body.messages.forEach(x.message);
      }
    })();
    return {
      ack() {},
      // Takes effect with the next poll.
      auth: (t) => {
        token = t;
      },
      close: () => abort.abort(),
    };
  },
};
