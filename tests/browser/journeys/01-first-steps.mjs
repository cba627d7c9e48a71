// Journey 1: sign up -> verify through the link in the e-mail -> sign in -> create, rename and
// delete a workspace -> the audit trail shows those events. Also: the console's security
// headers, and a workspace named like markup renders as text.
import fs from 'node:fs';
import {person, shoot, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';

export const onPostgres = true;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export async function run({browser, server, smtp}) {
  const {page} = await person(browser);

  // The root redirects to the console, which answers with its security headers.
  const response = await page.goto(`${server.base}/`);
  await page.waitForURL(`${server.base}/console/signin`);
  const headers = response.headers();
  check(headers['content-security-policy'] === CSP, `CSP: ${headers['content-security-policy']}`);
  check(headers['x-content-type-options'] === 'nosniff', 'nosniff');
  check(headers['referrer-policy'] === 'no-referrer', 'referrer-policy');
  await shoot(page, 'signin');

  // Sign up.
  await page.getByRole('link', {name: 'Create an account'}).click();
  await page.getByLabel('Email').fill('ann@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByLabel('First name').fill('Ann');
  await page.getByLabel('Last name').fill('Lee');
  await page.getByLabel('Company name').fill('Acme');
  await shoot(page, 'signup');
  await page.getByRole('button', {name: 'Sign up'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();

  // Verify through the e-mailed link (the token in the fragment), then sign in again.
  const mail = await smtp.waitFor('ann@example.com', /Verification token/);
  const link = linkIn(mail);
  check(link.startsWith(`${server.base}/console/verify#token=`), `link ${link}`);
  await page.goto(link);
  await page.getByRole('button', {name: 'Verify my address'}).click();
  await page.getByText('Your e-mail address is verified.').waitFor();
  check(!page.url().includes('token='), 'the token left the address bar');
  await page.getByRole('link', {name: 'Sign in'}).click();
  await page.getByLabel('Email').fill('ann@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await page.getByText('No workspaces yet').waitFor();
  await shoot(page, 'workspaces-empty');

  // Create a workspace; a name that looks like markup stays text.
  const markup = '<img src=x onerror=alert(1)>';
  for (const name of ['Development', markup]) {
    await page.getByLabel('Workspace name').fill(name);
    await page.getByRole('button', {name: 'Create workspace'}).click();
    await page.getByRole('link', {name}).waitFor();
  }
  check(await page.locator('main img').count() === 0, 'markup in a name made an element');
  check(page.dialogs.length === 0, `a dialog opened: ${page.dialogs}`);
  await shoot(page, 'workspaces');

  // Open one, rename it, delete it.
  await page.getByRole('link', {name: 'Development'}).click();
  await page.getByRole('heading', {name: 'Development'}).waitFor();
  check(await page.getByRole('cell', {name: 'ann@example.com'}).count() === 1, 'the creator is a member');
  await shoot(page, 'workspace');
  await page.getByLabel('Workspace name').fill('Production');
  await page.getByRole('button', {name: 'Rename'}).click();
  await page.getByRole('heading', {name: 'Production'}).waitFor();
  await page.getByRole('button', {name: 'Delete workspace'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Delete workspace'}).click();
  await page.waitForURL(`${server.base}/console/workspaces`);
  await page.getByRole('link', {name: markup}).waitFor();
  check(await page.getByRole('link', {name: 'Production'}).count() === 0, 'the deleted workspace is gone');

  // The audit trail shows the three workspace events (and the markup name as text).
  await page.getByRole('link', {name: 'Audit trail'}).click();
  await page.getByRole('heading', {name: 'Audit trail'}).waitFor();
  await page.getByLabel('Context').selectOption({label: 'workspace'});
  await page.getByRole('button', {name: 'Apply filters'}).click();
  await page.getByText('4 events match.').waitFor();
  const what = await page.locator('main tbody tr td:nth-child(2)').allTextContents();
  for (const event of ['created', 'updated', 'deleted']) {
    check(what.some((text) => text === `workspace ${event}`), `no workspace ${event} event in ${what}`);
  }
  check(await page.locator('svg.chart rect.chart-bar').count() >= 7, 'the chart has a bar a day');
  await page.getByText('4 unread').waitFor();
  await page.getByRole('button', {name: 'Mark these read'}).click();
  await page.getByText('0 unread').waitFor();
  const download = page.waitForEvent('download');
  await page.getByRole('link', {name: 'Download these events (JSON)'}).click();
  const saved = JSON.parse(fs.readFileSync(await (await download).path(), 'utf8'));
  check(saved.length === 4 && saved.every((e) => e.context === 'workspace'), `downloaded ${saved.length} events`);
  check(await page.locator('main img').count() === 0, 'markup in the audit trail made an element');
  await shoot(page, 'audit');

  check(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
}
