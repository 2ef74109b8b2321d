// The operator console: sign in, approve an app's pending template, send a
// test message with it and watch it arrive on the demo page in another tab;
// reject another with a reason; every panel fits 375 px.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, overflow, screenshot, startStack } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack.stop(); });

// The demo app applies for two templates, as an app does over HTTP.
async function applyFor(code, body) {
  await stack.cluster.sql(`INSERT INTO herald.templates (app_id, code, web_title, web_body)
    SELECT id, '${code}', 'Promotion: {{what}}', '${body}' FROM herald.apps WHERE name = 'demo'`);
}

async function signIn(page) {
  await page.goto(`${stack.engine.adminUrl}/console/`);
  await page.fill('#signin input[name=token]', ADMIN_TOKEN);
  await page.click('#signin button');
  await page.waitForSelector('#app-list li[data-app=demo]');
}

test('approve a template, send a test message, see it on the demo page', async () => {
  await applyFor('promo', '{{what}} for everyone in {{store}}');
  await applyFor('spam', 'BUY NOW {{what}}');
  const context = await stack.browser.newContext();
  const demo = await context.newPage();
  await demo.goto(`${stack.engine.url}/demo/?user=ada`);
  await demo.waitForSelector('#state.open');

  const page = await context.newPage();
  await signIn(page);
  await page.click('button[data-panel=templates]');
  const promo = page.locator('#template-list li[data-code=promo]');
  await promo.locator('button[data-action=approve]').click();
  await page.waitForSelector('.notice:has-text("promo v1 approved")');

  // A rejection needs a reason.
  const spam = page.locator('#template-list li[data-code=spam]');
  await spam.locator('button[data-action=reject]').click();
  await page.waitForSelector('.notice.bad:has-text("Say why")');
  await spam.locator('input[name=reason]').fill('shouting');
  await spam.locator('button[data-action=reject]').click();
  await page.waitForSelector('.notice:has-text("spam v1 rejected")');
  assert.equal(await stack.cluster.sql(
    "SELECT status || ':' || status_reason FROM herald.templates WHERE code = 'spam'"), 'rejected:shouting');

  await page.click('button[data-panel=send]');
  await page.waitForSelector('#send-form select[name=template] option[value=promo]', { state: 'attached' });
  await page.selectOption('#send-form select[name=app]', 'demo');
  await page.selectOption('#send-form select[name=template]', 'promo');
  await page.fill('#send-form input[name=targets]', 'store:berlin');
  await page.fill('#send-form textarea[name=data]', '{"what": "Green tea", "store": "Berlin"}');
  await page.click('#send-form button');
  await page.waitForSelector('#send-result .pill.processed');

  await demo.bringToFront();
  await demo.waitForSelector('#messages li:has-text("Promotion: Green tea")', { timeout: 2000 });
  assert.match(await demo.textContent('#messages li:first-child .body'), /Green tea for everyone in Berlin/);

  // The message and its delivery are on the messages panel.
  await page.bringToFront();
  await page.click('button[data-panel=messages]');
  await page.selectOption('#panel-messages select[name=state]', 'processed');
  await page.waitForSelector('#message-list li:has-text("demo/promo")');

  // A message that cannot be rendered is listed as rejected, with why.
  await page.click('button[data-panel=send]');
  await page.selectOption('#send-form select[name=template]', 'promo');
  await page.fill('#send-form textarea[name=data]', '{"store": "Berlin"}');
  await page.click('#send-form button');
  await page.waitForSelector('#send-result .pill.rejected');
  await page.click('button[data-panel=messages]');
  await page.selectOption('#panel-messages select[name=state]', 'rejected');
  await page.waitForSelector('#message-list li .notice.bad:has-text("missing_variable")');
  const rejected = await page.getAttribute('#message-list li', 'data-message');
  await page.selectOption('#panel-messages select[name=state]', 'processed');
  await page.waitForSelector('#message-list li:has-text("demo/promo") .pill.processed');
  await page.fill('#panel-messages input[name=id]', rejected);
  await page.click('#panel-messages form button');
  await page.waitForSelector(`#message-list li[data-message="${rejected}"] .pill.rejected`);
  assert.equal(await page.locator('#message-list > li').count(), 1);
  await screenshot(page, 'console-messages');
});

test('apps: create (key shown once), disable, enable, rotate', async () => {
  const page = await stack.browser.newPage();
  await signIn(page);
  await page.fill('#app-create input[name=name]', 'shop');
  await page.click('#app-create button');
  await page.waitForSelector('#panel-apps .notice .secret:has-text("api_key: hk_")');
  const row = page.locator('#app-list li[data-app=shop]');
  await row.locator('button[data-action=Disable]').click();
  await page.waitForSelector('#app-list li[data-app=shop] .pill.disabled');
  assert.equal(await stack.cluster.sql("SELECT disabled FROM herald.apps WHERE name = 'shop'"), 't');
  await row.locator('button[data-action=Enable]').click();
  await page.waitForSelector('#app-list li[data-app=shop] .pill.open');
  const before = await stack.cluster.sql("SELECT api_key_hash FROM herald.apps WHERE name = 'shop'");
  await row.locator('button[data-action="Rotate API key"]').click();
  await page.waitForSelector('#panel-apps .notice:has-text("New API key of shop")');
  assert.notEqual(await stack.cluster.sql("SELECT api_key_hash FROM herald.apps WHERE name = 'shop'"), before);

  // The key kept for this tab lets the principals forms act as the app.
  await page.click('button[data-panel=principals]');
  await page.selectOption('#panel-principals select[name=app]', 'shop');
  const merchant = page.locator('form[data-form=Merchant]');
  await merchant.locator('input[name=merchant]').fill('m1');
  await merchant.locator('input[name=name]').fill('First merchant');
  await merchant.locator('button[value=put]').click();
  await page.waitForSelector('#panel-principals .notice:has-text("PUT /v1/merchants/m1")');
  assert.equal(await stack.cluster.sql(
    "SELECT m.name FROM herald.merchants m JOIN herald.apps a ON a.id = m.app_id WHERE a.name = 'shop'"),
  'First merchant');
});

test('engine panel: actor tree, key figures and channel queues; every panel fits 375 px', async () => {
  const demo = await stack.browser.newPage();
  await demo.goto(`${stack.engine.url}/demo/?user=bo`);
  await demo.waitForSelector('#state.open');

  const page = await stack.browser.newPage({ viewport: { width: 375, height: 800 } });
  await signIn(page);
  for (const panel of ['apps', 'templates', 'principals', 'messages', 'send', 'engine']) {
    await page.click(`button[data-panel=${panel}]`);
    await page.waitForSelector(`#panel-${panel}:not(.hidden)`);
    await page.waitForTimeout(200);
    assert.equal(await overflow(page), 0, `${panel} overflows at 375 px`);
  }
  await page.waitForSelector('#tree li[data-kind=supervisor]');
  await page.waitForSelector('#figures [data-figure="Connections"] dd');
  const connections = Number(await page.textContent('#figures [data-figure="Connections"] dd'));
  assert.ok(connections >= 1, `connections: ${connections}`);
  // The sms and mobile senders are in the tree, and their queues have a box.
  await page.waitForSelector('#tree li[data-kind=channel]');
  await page.waitForSelector('#channels p, #channels table');
  assert.equal(await overflow(page), 0);
  await screenshot(page, 'console-engine-375');

  const wide = await stack.browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(wide);
  await wide.click('button[data-panel=engine]');
  await wide.waitForSelector('#tree li[data-kind=supervisor]');
  await screenshot(wide, 'console');
});
