// Journey 8 (issue 25, performance): the bytes the first load of /console/ (which goes on to
// /console/signin) transfers with compression (asserted: at most 150 KB), and each main page's
// first paint on a fresh load (measured with the Performance API and printed, not asserted).
// PERF_OUT=FILE appends the numbers as a JSON line, for BENCHMARKS.md.
import fs from 'node:fs';
import {person, check} from '../lib/browser.mjs';
import {verifiedOwner, call} from '../lib/api.mjs';

const BUDGET = 150 * 1024;

/** Waits until the page's content replaced its loading states. */
async function settled(page) {
  await page.locator('main h1').waitFor();
  const deadline = Date.now() + 10000;
  while (await page.locator('main .loading').count() > 0) {
    if (Date.now() > deadline) throw new Error(`${page.url()} kept loading`);
    await page.waitForTimeout(10);
  }
}

/** A fresh load of `url`: first paint, first contentful paint, and when the content was ready (ms from navigation start). */
async function paint(page, url) {
  await page.goto(url);
  await settled(page);
  const ready = await page.evaluate(() => performance.now());
  // Paint entries arrive once the frame is presented: wait for them (a second or so at most).
  let entries = [];
  for (let i = 0; i < 100 && entries.length < 2; i += 1) {
    if (i) await page.waitForTimeout(20);
    entries = await page.evaluate(() => performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
  }
  const byName = Object.fromEntries(entries);
  return {firstPaint: byName['first-paint'], firstContentfulPaint: byName['first-contentful-paint'], ready};
}

export async function run({browser, server, smtp}) {
  const owner = await verifiedOwner(server, smtp, {email: 'pat@example.com', firstName: 'Pat', lastName: 'Perf', companyName: 'Perf'});
  server.cli('admin', 'grant', 'pat@example.com');
  const made = await call(server, 'POST', '/workspace', {token: owner.accessToken, body: {name: 'Measured'}});

  // The first load of the sign-in page, as a newcomer's browser does it (empty cache).
  const {context, page} = await person(browser);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', {cacheDisabled: true});
  const requests = new Map();
  let encoded = 0;
  cdp.on('Network.responseReceived', (event) => {
    requests.set(event.requestId, {url: event.response.url, encoding: event.response.headers['content-encoding'] || event.response.headers['Content-Encoding'] || 'identity', bytes: 0, decoded: 0});
  });
  cdp.on('Network.dataReceived', (event) => {
    const r = requests.get(event.requestId);
    if (r) r.decoded += event.dataLength;
  });
  cdp.on('Network.loadingFinished', (event) => {
    encoded += event.encodedDataLength;
    const r = requests.get(event.requestId);
    if (r) r.bytes = event.encodedDataLength;
  });
  // `/console/` sends a newcomer on to /console/signin: both pages' files count.
  await page.goto(`${server.base}/console/`, {waitUntil: 'networkidle'});
  await page.waitForURL(`${server.base}/console/signin`);
  await page.getByRole('button', {name: 'Sign in'}).waitFor();
  await cdp.send('Network.setCacheDisabled', {cacheDisabled: false});
  await cdp.send('Network.disable');
  const transferred = encoded;
  const files = [...requests.values()];
  const encodings = {};
  for (const r of files) encodings[r.encoding] = (encodings[r.encoding] || 0) + 1;
  const decoded = files.reduce((sum, r) => sum + r.decoded, 0);
  const uncompressed = files.filter((r) => r.encoding === 'identity' && r.decoded > 1024).map((r) => r.url);
  console.log(`     first load of /console/ (on to /console/signin): ${files.length} responses (${Object.entries(encodings).map(([k, v]) => `${v} ${k}`).join(', ')}), ${(transferred / 1024).toFixed(1)} KiB transferred (${(decoded / 1024).toFixed(1)} KiB decoded)`);
  check(transferred <= BUDGET, `the first load transferred ${transferred} bytes, more than ${BUDGET}`);
  check(uncompressed.length === 0, `sent without compression: ${uncompressed.join(', ')}`);

  // First paint of each main page on a fresh load (the HTTP cache warm, as on a second visit).
  const results = {};
  for (const [name, url] of [['sign in', '/console/signin'], ['sign up', '/console/signup']]) {
    results[name] = await paint(page, `${server.base}${url}`);
  }
  await page.goto(`${server.base}/console/signin`);
  await page.getByLabel('Email').fill('pat@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  const signedIn = [
    ['workspaces', '/console/workspaces'],
    ['a workspace', `/console/workspaces/${made.body.workspace.id}`],
    ['organization', '/console/organization', 'organization.js'],
    ['users', '/console/organization/users', 'organization-users.js'],
    ['account', '/console/account', 'account.js'],
    ['security', '/console/account/security', 'security.js'],
    ['sessions', '/console/account/sessions', 'sessions.js'],
    ['audit trail', '/console/audit'],
    ['activation links', '/console/admin/links'],
  ];
  for (const [name, url, file] of signedIn) {
    if (file && !fs.existsSync(new URL(`../../../console/js/pages/${file}`, import.meta.url))) {
      console.log(`     ${name}: skipped, ${file} is not there yet`);
      continue;
    }
    results[name] = await paint(page, `${server.base}${url}`);
  }
  for (const [name, r] of Object.entries(results)) {
    const ms = (value) => (value === undefined ? '   ?' : value.toFixed(0).padStart(4));
    console.log(`     ${name.padEnd(17)} first paint ${ms(r.firstPaint)} ms, first contentful paint ${ms(r.firstContentfulPaint)} ms, content ready ${ms(r.ready)} ms`);
  }
  if (process.env.PERF_OUT) {
    fs.appendFileSync(process.env.PERF_OUT, `${JSON.stringify({transferred, decoded, responses: files.length, encodings, pages: results})}\n`);
  }
  check(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
}
