// Tokens that live eight seconds: herald.js fetches a fresh one before
// each expires. The WebSocket takes it as an auth frame and stays up; an
// SSE stream reopens with it. Messages keep coming long after the first
// token is dead.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { publishNote, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack({ engineArgs: ['--api.token-ttl=8s'] }); });
after(async () => { await stack.stop(); });

test('connections outlive their first token', async () => {
  const page = await stack.browser.newPage();
  let tokens = 0;
  page.on('request', (r) => { if (r.url().endsWith('/v1/demo/token')) tokens++; });
  await page.goto(`${stack.engine.url}/demo/?user=ada`);
  await page.waitForSelector('#state.open');
  await page.evaluate(async () => {
    window.states = [];
    window.herald.on('state', (s) => window.states.push(s.state));
    const { connect } = await import('/herald.js');
    const { demoToken } = await import('/demo/demo-token.js');
    const sse = connect(location.origin, { token: () => demoToken('ada'), transports: ['sse'], storage: null });
    window.sseTitles = [];
    sse.on('message', (m) => window.sseTitles.push(m.title));
    await new Promise((r) => sse.on('state', (s) => s.state === 'open' && r()));
  });

  await page.waitForTimeout(12000); // one and a half token lifetimes
  await publishNote(stack.cluster, 'ada', 'after expiry');
  await page.waitForSelector('#messages li:has-text("after expiry")', { timeout: 3000 });
  await page.waitForFunction(() => window.sseTitles.includes('after expiry'), null, { timeout: 3000 });

  assert.deepEqual(await page.evaluate(() => window.states), [], 'the WebSocket never dropped');
  assert.equal(await page.textContent('#transport'), 'websocket');
  assert.ok(tokens >= 3, `${tokens} tokens fetched`);
});
