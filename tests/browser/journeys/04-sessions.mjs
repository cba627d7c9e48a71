// Journey 4: a second browser context signs in as the same person; the first revokes that
// session on the sessions page; the second, at its next navigation, is sent to sign in. Also:
// the current session is marked, a device is trusted, and "sign out everywhere" signs out here.
import {person, shoot as shootAll, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';

/** Screenshots without the passing notices (they would cover the page). */
async function shoot(page, name) {
  await page.evaluate(() => document.querySelectorAll('#notices .notice').forEach((n) => n.remove()));
  await shootAll(page, name);
}

const EMAIL = 'noor@example.com';
const PASSWORD = 'Secret123';

async function signIn(page, base) {
  await page.goto(`${base}/console/signin`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();
}

export async function run({browser, server, smtp}) {
  const registered = await fetch(`${server.base}/user/register`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email: EMAIL, password: PASSWORD, firstName: 'Noor', lastName: 'Haddad', companyName: 'Haddad', isBusiness: true}),
  });
  check(registered.status === 201, `register: ${registered.status}`);
  const {page: first} = await person(browser);
  await first.goto(linkIn(await smtp.waitFor(EMAIL, /Verification token/)));
  await first.getByRole('button', {name: 'Verify my address'}).click();
  await first.getByText('Your e-mail address is verified.').waitFor();

  // Two browsers, one person.
  await signIn(first, server.base);
  const {page: second} = await person(browser);
  await signIn(second, server.base);
  await second.getByRole('link', {name: 'Account'}).click();
  await second.getByRole('heading', {name: 'Account', exact: true}).waitFor();

  // The first opens its sessions: two, this one marked.
  await first.getByRole('link', {name: 'Account'}).click();
  await first.getByRole('link', {name: 'Sessions and devices'}).click();
  await first.getByRole('heading', {name: 'Sessions and devices'}).waitFor();
  const sessionRows = first.getByRole('table', {name: 'Your sessions'}).locator('tbody tr');
  await first.getByText('2 signed in, 1 elsewhere').waitFor();
  check(await sessionRows.count() === 2, 'two sessions');
  check(await first.getByText('This session', {exact: true}).count() === 1, 'the current session is marked');
  const current = sessionRows.filter({hasText: 'This session'});
  check(await current.getByRole('button', {name: /^Revoke/}).count() === 0, 'the current session has no Revoke');
  await shoot(first, 'sessions');

  // The first revokes the other session.
  await first.getByRole('button', {name: /^Revoke the session/}).click();
  await first.getByText('Session revoked successfully').waitFor();
  await first.getByText('1 signed in').waitFor();
  check(await sessionRows.count() === 1, 'one session left');

  // The second is sent to sign in at its next navigation.
  await second.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Workspaces'}).click();
  await second.waitForURL(/\/console\/signin/);
  await second.getByRole('button', {name: 'Sign in'}).waitFor();
  await shoot(second, 'signed-out-elsewhere');

  // Devices: trust this browser's device (both sign-ins came from it).
  const devices = first.getByRole('table', {name: 'Your devices'});
  await devices.getByText('This device').waitFor();
  await devices.getByRole('button', {name: /^Trust /}).first().click();
  await first.getByText('Device trusted successfully').waitFor();
  await devices.getByText('Trusted', {exact: true}).first().waitFor();
  await shoot(first, 'sessions-devices');

  // Sign out everywhere: this session too.
  await first.getByRole('button', {name: 'Sign out everywhere'}).click();
  await first.getByRole('dialog').getByRole('button', {name: 'Sign out everywhere'}).click();
  await first.waitForURL(/\/console\/signin/);
  await first.goto(`${server.base}/console/account/sessions`);
  await first.waitForURL(/\/console\/signin/);

  for (const [who, page] of [['first', first], ['second', second]]) {
    check(page.errors.length === 0, `script errors (${who}): ${page.errors.join('; ')}`);
    check(page.dialogs.length === 0, `a dialog opened (${who}): ${page.dialogs}`);
  }
}
