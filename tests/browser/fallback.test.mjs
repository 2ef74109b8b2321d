// Behind a proxy that refuses WebSocket upgrades the client falls back to
// SSE; with streams refused as well, to long-polling; it receives every
// message either way, and moves back up once the better transport works.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inboxTitles, Proxy, publishNote, startStack } from './harness.mjs';

let stack;
let proxy;
before(async () => {
  stack = await startStack();
  proxy = await new Proxy(stack.engine.url).start();
});
after(async () => {
  await proxy.stop();
  await stack.stop();
});

async function expectMessages(page, user, titles) {
  for (const t of titles) await publishNote(stack.cluster, user, t);
  await page.waitForFunction((n) => document.querySelectorAll('#messages li').length === n,
    titles.length, { timeout: 5000 });
  assert.deepEqual(await inboxTitles(page), [...titles].reverse());
}

test('WebSocket refused: SSE carries the messages', async () => {
  proxy.blockWebSocket = true;
  const page = await stack.browser.newPage();
  await page.goto(`${proxy.url}/demo/?user=ada`);
  await page.waitForSelector('#state.open');
  assert.equal(await page.textContent('#transport'), 'sse');
  assert.ok(proxy.seen.includes('upgrade /v1/ws'), 'WebSocket was tried first');
  await expectMessages(page, 'ada', ['sse 1', 'sse 2', 'sse 3']);
  await page.close();
});

test('WebSocket and SSE refused: long-polling carries the messages', async () => {
  proxy.blockWebSocket = true;
  proxy.blockSse = true;
  const page = await stack.browser.newPage();
  await page.goto(`${proxy.url}/demo/?user=bo`);
  await page.waitForSelector('#state.open');
  assert.equal(await page.textContent('#transport'), 'poll');
  await expectMessages(page, 'bo', ['poll 1', 'poll 2', 'poll 3', 'poll 4']);

  // A burst comes as one poll's batch: still in order, each once.
  await stack.cluster.sql(`SELECT herald.publish('demo', 'note', 'user:bo',
    jsonb_build_object('title', 'burst ' || i, 'body', 'batched')) FROM generate_series(1, 5) i`);
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length === 9,
    null, { timeout: 5000 });
  // A marker after the burst: once it shows, a duplicate would have too.
  await publishNote(stack.cluster, 'bo', 'marker');
  await page.waitForSelector('#messages li:has-text("marker")');
  assert.deepEqual((await inboxTitles(page)).slice(0, 7),
    ['marker', 'burst 5', 'burst 4', 'burst 3', 'burst 2', 'burst 1', 'poll 4']);
  assert.equal((await inboxTitles(page)).length, 10);
  await page.close();
});

test('on a fallback, the client moves up again once the better transport works', async () => {
  proxy.blockWebSocket = true;
  proxy.blockSse = false;
  const page = await stack.browser.newPage();
  await page.goto(`${proxy.url}/demo/?user=chen`);
  await page.waitForSelector('#state.open');
  // The demo's client retries the better transport after a minute; a
  // client of its own with a short interval shows the same here.
  const first = await page.evaluate(async () => {
    const { connect } = await import('/herald.js');
    const { demoToken } = await import('/demo/demo-token.js');
    const c = connect(location.origin, { token: () => demoToken('chen'), upgradeAfter: 300, storage: null });
    window.probe = c;
    window.probeTitles = [];
    c.on('message', (m) => window.probeTitles.push(m.title));
    await new Promise((r) => c.on('state', (s) => s.state === 'open' && r()));
    return c.transport;
  });
  assert.equal(first, 'sse');
  proxy.blockWebSocket = false;
  await page.waitForFunction(() => window.probe.transport === 'websocket', null, { timeout: 5000 });
  await publishNote(stack.cluster, 'chen', 'after the move');
  await page.waitForFunction(() => window.probeTitles.includes('after the move'), null, { timeout: 5000 });
  assert.deepEqual(await page.evaluate(() => window.probeTitles), ['after the move']);
  await page.evaluate(() => window.probe.close());
});
