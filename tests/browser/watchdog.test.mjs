// herald.js's liveness watchdog: a WebSocket that goes silent without
// closing (a dead network) is given up after the heartbeat deadline the
// server announced (ping interval + ping timeout: 1 s + 1 s here), and a new
// connection carries the messages on. The deadline is counted on the wall
// clock, so a page whose machine slept past it reconnects on waking.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inboxTitles, Proxy, publishNote, startStack } from './harness.mjs';

let stack;
let proxy;
before(async () => {
  stack = await startStack({
    engineArgs: ['--delivery.ping-interval=1s', '--delivery.ping-timeout=1s'],
  });
  proxy = await new Proxy(stack.engine.url).start();
});
after(async () => {
  await proxy.stop();
  await stack.stop();
});

test('a silent connection is replaced within the heartbeat deadline', async () => {
  const page = await stack.browser.newPage();
  await page.goto(`${proxy.url}/demo/?user=ada`);
  await page.waitForSelector('#state.open');
  assert.equal(await page.textContent('#transport'), 'websocket');
  const upgrades = () => proxy.seen.filter((s) => s === 'upgrade /v1/ws').length;
  const before = upgrades();
  const frozen = Date.now();
  proxy.freeze();
  await page.waitForFunction(() => !document.querySelector('#state.open'), null,
    { timeout: 10000 });
  const noticed = Date.now() - frozen;
  await page.waitForSelector('#state.open', { timeout: 15000 });
  assert.ok(upgrades() > before, 'a new WebSocket was opened');
  console.log(`watchdog: silent connection given up after ${noticed} ms (deadline 2000 ms)`);
  assert.ok(noticed < 2000 + 3000, `${noticed} ms`);
  await publishNote(stack.cluster, 'ada', 'after the freeze');
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length === 1,
    null, { timeout: 5000 });
  assert.deepEqual(await inboxTitles(page), ['after the freeze']);
  // Not page.close(): it would wait for the frozen socket's close
  // handshake; after() drops the proxy's sockets, then the browser.
});

test('a connection that slept past the deadline is replaced when the page wakes', async () => {
  // The page's clock is Playwright's, running in real time. A sleeping
  // machine is the wall clock jumping ahead while timers stand still:
  // setSystemTime moves Date and fires no timer. The heartbeats keep
  // coming all along; only the wall clock says ten seconds went by
  // without them.
  const page = await stack.browser.newPage();
  await page.clock.install();
  await page.goto(`${proxy.url}/demo/?user=ada`);
  await page.waitForSelector('#state.open');
  const upgrades = () => proxy.seen.filter((s) => s === 'upgrade /v1/ws').length;
  const before = upgrades();
  const woke = Date.now();
  await page.clock.setSystemTime(woke + 10_000);
  await page.waitForFunction(() => !document.querySelector('#state.open'), null,
    { timeout: 10000 });
  const noticed = Date.now() - woke;
  await page.waitForSelector('#state.open', { timeout: 15000 });
  assert.ok(upgrades() > before, 'a new WebSocket was opened');
  console.log(`watchdog: a slept connection given up ${noticed} ms after waking`);
  await publishNote(stack.cluster, 'ada', 'after the sleep');
  await page.waitForFunction(
    () => [...document.querySelectorAll('#messages li')].some((li) => li.textContent.includes('after the sleep')),
    null, { timeout: 5000 });
});
