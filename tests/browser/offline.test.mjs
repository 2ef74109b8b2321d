// Offline while 20 messages are published: back online, all 20 appear,
// once each and in order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inboxTitles, publishNote, startStack, waitFor } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack.stop(); });

test('messages published while offline arrive once, in order, when back online', async () => {
  const context = await stack.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${stack.engine.url}/demo/?user=ada`);
  await page.waitForSelector('#state.open');
  await publishNote(stack.cluster, 'ada', 'before');
  await page.waitForSelector('#messages li:has-text("before")');

  await context.setOffline(true);
  await page.waitForSelector('#state.offline');
  const titles = Array.from({ length: 20 }, (_, i) => `offline ${String(i + 1).padStart(2, '0')}`);
  await stack.cluster.sql(`SELECT herald.publish('demo', 'note', 'user:ada',
    jsonb_build_object('title', 'offline ' || lpad(i::text, 2, '0'), 'body', 'while away'))
    FROM generate_series(1, 20) i`);
  // Once the engine has recorded the 20 deliveries, they would be pushed
  // to an open connection; the page must still show none of them.
  await waitFor(async () => (await stack.cluster.sql(
    "SELECT count(*) FROM herald.web_deliveries")) === '21', 10000,
  'the 20 deliveries recorded');
  assert.deepEqual(await inboxTitles(page), ['before'], 'nothing arrives while offline');

  await context.setOffline(false);
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length === 21,
    null, { timeout: 10000 });
  // A marker published now comes after any replay of the 20 in seq order:
  // once it shows, a duplicate would have shown too.
  await publishNote(stack.cluster, 'ada', 'after');
  await page.waitForSelector('#messages li:has-text("after")');
  assert.deepEqual(await inboxTitles(page), ['after', ...[...titles].reverse(), 'before']);
  const seqs = await page.$$eval('#messages li', (els) => els.map((e) => Number(e.dataset.seq)));
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i - 1] > seqs[i], 'seqs in order');
  assert.equal(await page.textContent('#unread'), '22');
  assert.equal(await page.textContent('#state'), 'open');
});
