// The demo inbox as a user sees it: a message published with SQL appears
// within a second; after a reload it is there once, from the history; the
// unread badge follows "mark read"; the Vue example shows the same inbox.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inboxTitles, overflow, publishNote, screenshot, startStack, waitFor } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack.stop(); });

test('a published message appears live, once, and stays once after a reload', async () => {
  const page = await stack.browser.newPage();
  await page.goto(`${stack.engine.url}/demo/?user=ada`);
  await page.waitForSelector('#state.open');
  assert.equal(await page.textContent('#transport'), 'websocket');
  assert.equal(await page.textContent('#unread'), '0');

  // psql returns once the publishing transaction has committed: from
  // there the message has one second to show up.
  const started = Date.now();
  await publishNote(stack.cluster, 'ada', 'Parcel shipped', 'A-17 left the warehouse');
  const committed = Date.now();
  await page.waitForSelector('#messages li:has-text("Parcel shipped")', { timeout: 1000 });
  const ms = Date.now() - committed;
  console.log(`commit → shown: ${ms} ms (psql took ${committed - started} ms)`);
  assert.ok(ms < 1000, `took ${ms} ms`);
  assert.equal(await page.textContent('#unread'), '1');

  await page.reload();
  await page.waitForSelector('#state.open');
  await page.waitForSelector('#messages li:has-text("Parcel shipped")');
  // A marker published after the reload arrives after any replay of the
  // first message: once it shows, a duplicate would have shown too.
  await publishNote(stack.cluster, 'ada', 'Marker');
  await page.waitForSelector('#messages li:has-text("Marker")');
  assert.deepEqual(await inboxTitles(page), ['Marker', 'Parcel shipped']);
  assert.equal(await page.textContent('#unread'), '2');

  await page.click('#messages li:has-text("Parcel shipped") button');
  await page.waitForFunction(() => document.querySelector('#unread').textContent === '1');
  await page.reload();
  await page.waitForSelector('#messages li:has-text("Parcel shipped"):not(.unread)');
  assert.equal(await page.textContent('#unread'), '1');
});

test('history pages back through older messages', async () => {
  const page = await stack.browser.newPage();
  await stack.cluster.sql(`SELECT herald.publish('demo', 'note', 'user:bo',
    jsonb_build_object('title', 'old ' || lpad(i::text, 2, '0'), 'body', 'paging'))
    FROM generate_series(1, 25) i`);
  // Committed is not yet expanded: wait until all 25 have their seq, so the
  // page finds them in its history rather than live.
  await waitFor(async () => await stack.cluster.sql(`SELECT count(*) FROM herald.web_deliveries d
    JOIN herald.users u ON u.id = d.user_id WHERE u.external_id = 'bo' AND d.seq IS NOT NULL`) === '25',
  10000, 'the expansion of 25 messages');
  await page.goto(`${stack.engine.url}/demo/?user=bo`);
  await page.waitForSelector('#state.open');
  // The newest twenty come from the first page; Older brings the rest.
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length === 20);
  await page.click('#older');
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length === 25);
  const titles = await inboxTitles(page);
  assert.equal(titles[0], 'old 25');
  assert.equal(titles[24], 'old 01');
  assert.ok(await page.isHidden('#older'));
});

test('the demo and its Vue example fit 375 px', async () => {
  const page = await stack.browser.newPage({ viewport: { width: 375, height: 740 } });
  await publishNote(stack.cluster, 'chen', 'A rather long title that has to wrap on a small phone screen',
    'https://example.com/a/very/long/link/without/any/spaces/that/would/otherwise/widen/the/page');
  await page.goto(`${stack.engine.url}/demo/?user=chen`);
  await page.waitForSelector('#state.open');
  await page.waitForSelector('#messages li');
  assert.equal(await overflow(page), 0);
  await screenshot(page, 'demo-375');

  await page.goto(`${stack.engine.url}/demo/vue.html?user=chen`);
  await page.waitForSelector('.pill.open');
  await page.waitForSelector('li:has-text("A rather long title")');
  await publishNote(stack.cluster, 'chen', 'Live in Vue');
  await page.waitForSelector('li:has-text("Live in Vue")', { timeout: 2000 });
  assert.equal(await page.locator('li:has-text("A rather long title")').count(), 1);
  assert.equal(await overflow(page), 0);
  await screenshot(page, 'demo-vue-375');

  const wide = await stack.browser.newPage({ viewport: { width: 1280, height: 800 } });
  await wide.goto(`${stack.engine.url}/demo/?user=chen`);
  await wide.waitForSelector('#state.open');
  await screenshot(wide, 'demo');
});
