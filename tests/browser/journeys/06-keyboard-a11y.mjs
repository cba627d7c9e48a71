// Journey 6: keyboard only (Tab, Enter, typing: no clicks) sign in and create a workspace; then
// axe-core, injected by the test, finds no serious or critical violation on each main page, in
// the light and the dark colour scheme.
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import {person, check} from '../lib/browser.mjs';
import {verifiedOwner} from '../lib/api.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core');
const PAGES_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../console/js/pages');

/** Presses Tab until the focused element's accessible label is `label` (at most `limit` times). */
async function tabTo(page, label, limit = 40) {
  for (let i = 0; i < limit; i += 1) {
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return '';
      const labelled = el.labels && el.labels[0] ? el.labels[0].textContent : '';
      return (labelled || el.getAttribute('aria-label') || el.textContent || '').trim();
    });
    if (focused === label) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached “${label}”`);
}

/** Waits until the page's content replaced its loading states. */
async function settled(page) {
  await page.locator('main h1').waitFor();
  const deadline = Date.now() + 10000;
  while (await page.locator('main .loading').count() > 0) {
    if (Date.now() > deadline) throw new Error(`${page.url()} kept loading`);
    await page.waitForTimeout(50);
  }
}

/** axe-core's serious and critical violations on the page as it is, in both colour schemes. */
async function audit(page, name) {
  const found = [];
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({colorScheme});
    if (!await page.evaluate(() => Boolean(window.axe))) await page.addScriptTag({path: AXE});
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, {resultTypes: ['violations']});
      return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)}));
    });
    for (const v of violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')) {
      found.push(`${name} (${colorScheme}): ${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`);
    }
  }
  await page.emulateMedia({colorScheme: 'light'});
  console.log(`     axe ${name}: ${found.length ? `${found.length} serious/critical` : 'clean'}`);
  return found;
}

export async function run({browser, server, smtp}) {
  const owner = await verifiedOwner(server, smtp, {email: 'kim@example.com', firstName: 'Kim', lastName: 'Key', companyName: 'Keys'});
  server.cli('admin', 'grant', 'kim@example.com');
  const {page} = await person(browser, {bypassCSP: true});
  const problems = [];

  // Signed-out pages.
  for (const [name, url] of [['sign in', '/console/signin'], ['sign up', '/console/signup'], ['forgot password', '/console/forgot-password']]) {
    await page.goto(`${server.base}${url}`);
    await settled(page);
    problems.push(...await audit(page, name));
  }

  // Keyboard only: sign in, then create a workspace.
  await page.goto(`${server.base}/console/signin`);
  await settled(page);
  await tabTo(page, 'Email');
  await page.keyboard.type('kim@example.com');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Secret123');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await settled(page);
  await tabTo(page, 'Workspace name');
  await page.keyboard.type('Keyboard');
  await page.keyboard.press('Enter');
  await page.getByRole('link', {name: 'Keyboard'}).waitFor();
  // On to it with the keyboard too.
  await tabTo(page, 'Keyboard');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {name: 'Keyboard'}).waitFor();
  check(page.url().includes('/console/workspaces/'), `Enter on the link opened ${page.url()}`);
  const workspaceUrl = new URL(page.url()).pathname;
  void owner;

  // Signed-in pages (a fresh load of each: the session survives in this tab).
  const pages = [
    ['workspaces', '/console/workspaces', 'workspaces.js'],
    ['a workspace', workspaceUrl, 'workspace.js'],
    ['organization', '/console/organization', 'organization.js'],
    ['users', '/console/organization/users', 'organization-users.js'],
    ['account', '/console/account', 'account.js'],
    ['security', '/console/account/security', 'security.js'],
    ['sessions', '/console/account/sessions', 'sessions.js'],
    ['audit trail', '/console/audit', 'audit.js'],
    ['activation links', '/console/admin/links', 'links.js'],
    ['webhooks', '/console/organization/webhooks', 'webhooks.js'],
  ];
  for (const [name, url, file] of pages) {
    if (!fs.existsSync(path.join(PAGES_DIR, file))) {
      console.log(`     axe ${name}: skipped, ${file} is not there yet`);
      continue;
    }
    await page.goto(`${server.base}${url}`);
    await settled(page);
    check(new URL(page.url()).pathname === url, `${url} went to ${page.url()}`);
    problems.push(...await audit(page, name));
  }

  check(problems.length === 0, `accessibility:\n${problems.join('\n')}`);
  check(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
}
