// What the browser tests stand on, as tests/system/harness.py does for the
// system tests: a private PostgreSQL cluster (scripts/pg.sh), heraldd
// serving web/ with the demo app seeded, headless Chromium, and a proxy
// that can refuse WebSocket upgrades or SSE streams.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export const REPO = process.env.HERALD_REPO || path.resolve(here, '..', '..');
export const HERALDD = process.env.HERALDD || path.join(REPO, 'build', 'dev', 'tools', 'heraldd');
export const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO, 'tests', 'artifacts');
export const ADMIN_TOKEN = 'browser-test-admin-token';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns something truthy; throws after timeout ms. */
export async function waitFor(fn, timeout, what) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A throwaway PostgreSQL cluster in a temporary folder. */
export class Cluster {
  constructor() {
    this.root = mkdtempSync(path.join(tmpdir(), 'herald-br-'));
    chmodSync(this.root, 0o755); // as root, the server runs as "postgres"
    this.env = {
      ...process.env,
      HERALD_PG_DIR: path.join(this.root, 'pg'),
      // Below the kernel's ephemeral range (32768 and up), where no client
      // connection of a neighbouring test holds the port by chance.
      HERALD_PG_PORT: String(20000 + Math.floor(Math.random() * 12000)),
      HERALD_PG_FAST: '1',
    };
  }

  async start() {
    const { stdout } = await run(path.join(REPO, 'scripts', 'pg.sh'), ['start'], { env: this.env });
    this.url = stdout.trim();
    return this.url;
  }

  async remove() {
    await run(path.join(REPO, 'scripts', 'pg.sh'), ['remove'], { env: this.env }).catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }

  async sql(query) {
    const { stdout } = await run('psql', [this.url, '-v', 'ON_ERROR_STOP=1', '-tAc', query]);
    return stdout.trim();
  }

  async sqlFile(file) {
    await run('psql', [this.url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', file]);
  }
}

/** heraldd on a free port, serving web/, with the demo app. */
export class Engine {
  constructor(databaseUrl, ...extra) {
    this.args = [
      `--database.url=${databaseUrl}`, '--http.port=0', '--admin.port=0',
      `--web.root=${path.join(REPO, 'web')}`, '--web.demo-app=demo',
      `--admin.token=${ADMIN_TOKEN}`, '--log.level=warn', ...extra,
    ];
    this.log = [];
  }

  async start() {
    this.proc = spawn(HERALDD, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.proc.stdout, this.proc.stderr])
      stream.on('data', (d) => this.log.push(String(d)));
    this.port = await waitFor(async () => {
      if (this.proc.exitCode !== null) throw new Error(`heraldd exited:\n${this.log.join('')}`);
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(this.log.join(''));
      return m && Number(m[1]);
    }, 15000, 'heraldd to listen').catch((e) => {
      throw new Error(`${e.message}\n${this.log.join('')}`);
    });
    this.url = `http://127.0.0.1:${this.port}`;
    // The operator's side (admin API, debug, /metrics, the console) is on
    // the admin listener only.
    const admin = await waitFor(async () => /admin: +http:\/\/[^:]+:(\d+)/.exec(this.log.join('')),
      5000, 'the admin listener');
    this.adminUrl = `http://127.0.0.1:${admin[1]}`;
    await waitFor(async () => (await fetch(`${this.url}/readyz`)).ok, 20000, 'heraldd to be ready');
    return this;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }

  /** An admin API call; the parsed body. */
  async admin(method, route, body) {
    const res = await fetch(this.adminUrl + route, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    return res.json();
  }
}

/**
 * An HTTP proxy in front of heraldd. blockWebSocket refuses upgrades (as a
 * proxy without WebSocket support does); blockSse answers /v1/stream with
 * 502. Everything else passes, streamed.
 */
export class Proxy {
  constructor(target) {
    this.target = new URL(target);
    this.blockWebSocket = false;
    this.blockSse = false;
    this.seen = [];
    this.sockets = new Set();
    this.tunnels = new Set(); // open WebSocket connections: { socket, up }
    this.server = http.createServer((req, res) => {
      this.seen.push(req.url.split('?')[0]);
      if (this.blockSse && req.url.startsWith('/v1/stream')) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        return res.end('streams are not allowed here');
      }
      const up = http.request({
        host: this.target.hostname, port: this.target.port, method: req.method,
        path: req.url, headers: req.headers,
      }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
      res.on('close', () => up.destroy());
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.seen.push(`upgrade ${req.url.split('?')[0]}`);
      if (this.blockWebSocket) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const up = net.connect(Number(this.target.port), this.target.hostname, () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2)
          lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        up.write(`${lines.join('\r\n')}\r\n\r\n`);
        up.write(head);
        socket.pipe(up).pipe(socket);
        this.tunnels.add({ socket, up });
      });
      const close = () => { socket.destroy(); up.destroy(); };
      up.on('error', close);
      socket.on('error', close);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start() {
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  /**
   * Stops every open WebSocket connection dead, both ways, without closing
   * it: what a vanished network looks like to both ends. New ones work.
   */
  freeze() {
    for (const { socket, up } of this.tunnels) {
      socket.unpipe(up);
      up.unpipe(socket);
      socket.pause();
      up.pause();
    }
    this.tunnels.clear();
  }

  /** Drops every open connection: clients must come back through the rules. */
  dropAll() {
    for (const s of this.sockets) s.destroy();
  }

  async stop() {
    this.dropAll();
    await new Promise((r) => this.server.close(r));
  }
}

/**
 * Everything one scenario needs: cluster, heraldd with the demo seeded,
 * Chromium. engineArgs go to heraldd. Call stop() in after().
 */
export async function startStack({ engineArgs = [] } = {}) {
  const cluster = new Cluster();
  const stack = { cluster };
  stack.stop = async () => {
    if (stack.browser) await stack.browser.close().catch(() => {});
    if (stack.engine) await stack.engine.stop();
    await cluster.remove();
  };
  try {
    await cluster.start();
    stack.engine = await new Engine(cluster.url, ...engineArgs).start();
    await cluster.sqlFile(path.join(REPO, 'scripts', 'demo-seed.sql'));
    // heraldd picks up new apps within a few seconds.
    await waitFor(async () => (await fetch(`${stack.engine.url}/v1/demo/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"user":"ada"}',
    })).ok, 15000, 'the demo app');
    stack.browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Chromium refuses its sandbox as root; the pages are our own.
      args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
    });
  } catch (e) {
    await stack.stop();
    throw e;
  }
  return stack;
}

/** Publishes a note to a demo user from SQL, as a producer would. */
export function publishNote(cluster, user, title, body = 'from psql') {
  const vars = JSON.stringify({ title, body }).replace(/'/g, "''");
  return cluster.sql(`SELECT herald.publish('demo', 'note', 'user:${user}', '${vars}')`);
}

/** A page's horizontal overflow in px (0 when everything fits). */
export function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Titles of the demo inbox's messages, top (newest) to bottom. */
export function inboxTitles(page) {
  return page.$$eval('#messages li .title', (els) => els.map((e) => e.textContent));
}
