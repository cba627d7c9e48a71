// Journey 11: passkeys with Chromium's virtual authenticator (the DevTools protocol's WebAuthn
// domain, through playwright-core's CDP session: a CTAP2 platform authenticator with resident
// keys and user verification). Sign in with a password -> the security page adds a passkey and
// renames it -> sign out -> sign in with the passkey alone -> sign out -> sign in with the
// password: the second step offers the passkey -> remove it.
//
// WebAuthn needs a secure context and a relying party id that is a domain: the server's public
// URL and the page are http://localhost:PORT (`host` below), not 127.0.0.1.
import {person, shoot as shootAll, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';
import {call} from '../lib/api.mjs';

export const host = 'localhost';
export const onPostgres = true;

const EMAIL = 'pia@example.com';
const PASSWORD = 'Secret123';

/** Screenshots without the passing notices (they would cover the page). */
async function shoot(page, name) {
  await page.evaluate(() => document.querySelectorAll('#notices .notice').forEach((n) => n.remove()));
  await shootAll(page, name);
}

async function signOut(page, base) {
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.waitForURL(`${base}/console/signin`);
}

export async function run({browser, server, smtp}) {
  const base = server.base;
  check(base.startsWith('http://localhost:'), `the public URL is ${base}`);
  const registered = await call(server, 'POST', '/user/register', {
    body: {email: EMAIL, password: PASSWORD, firstName: 'Pia', lastName: 'Lund', companyName: 'Lund', isBusiness: true},
  });
  check(registered.status === 201, `register: ${registered.status}`);

  const {context, page} = await person(browser);
  // The virtual authenticator lives in this page's target: it answers every WebAuthn prompt
  // (user present and verified) for as long as the page does.
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const {authenticatorId} = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true},
  });

  await page.goto(linkIn(await smtp.waitFor(EMAIL, /Verification token/)).replace(/^http:\/\/[^/]+/, base));
  await page.getByRole('button', {name: 'Verify my address'}).click();
  await page.getByText('Your e-mail address is verified.').waitFor();
  await page.goto(`${base}/console/signin`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', {name: 'Sign in', exact: true}).click();
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();

  // Account -> Two-step sign-in -> Passkeys: none yet; add one named "Laptop".
  await page.getByRole('link', {name: 'Account', exact: true}).click();
  await page.getByRole('link', {name: 'Two-step sign-in'}).click();
  await page.getByRole('heading', {name: 'Passkeys', exact: true}).waitFor();
  await page.getByText('No passkeys yet.').waitFor();
  await page.getByLabel('Passkey name').fill('Laptop');
  await page.getByRole('button', {name: 'Add a passkey'}).click();
  await page.getByRole('button', {name: 'Rename passkey Laptop'}).waitFor();
  const stored = await cdp.send('WebAuthn.getCredentials', {authenticatorId});
  check(stored.credentials.length === 1, `the authenticator holds ${stored.credentials.length} credentials`);
  check(stored.credentials[0].isResidentCredential, 'the passkey is discoverable');
  check(stored.credentials[0].rpId === 'localhost', `rp id ${stored.credentials[0].rpId}`);
  // The first passkey turned two-step sign-in on, with passkeys as its method.
  const status = await page.locator('section.card', {has: page.getByRole('heading', {name: 'Status'})}).innerText();
  check(/\bOn\b/.test(status), `status: ${status}`);

  // Rename it.
  await page.getByRole('button', {name: 'Rename passkey Laptop'}).click();
  await page.getByLabel('New name').fill('Work laptop');
  await page.getByRole('button', {name: 'Save name'}).click();
  await page.getByRole('button', {name: 'Rename passkey Work laptop'}).waitFor();
  await shoot(page, 'passkeys');

  // Sign out, then in with the passkey alone: no e-mail, no password, no second step.
  await signOut(page, base);
  await page.getByRole('button', {name: 'Use a passkey'}).click();
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();
  await page.getByRole('link', {name: 'Account', exact: true}).click();
  await page.getByRole('link', {name: 'Sessions and devices'}).click();
  await page.getByText('Signed in with a passkey').waitFor();
  await page.getByRole('link', {name: 'Account', exact: true}).click();
  await page.getByRole('link', {name: 'Two-step sign-in'}).click();
  await page.getByRole('button', {name: 'Rename passkey Work laptop'}).waitFor();
  const row = await page.getByRole('row', {name: /Work laptop/}).innerText();
  check(!/Never/.test(row), `the passkey's last use is shown: ${row}`);

  // Sign out, then in with the password: passkeys are on, so the second step offers one.
  await signOut(page, base);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', {name: 'Sign in', exact: true}).click();
  await page.waitForURL(`${base}/console/mfa`);
  await page.getByRole('heading', {name: 'With a passkey'}).waitFor();
  await shoot(page, 'mfa-passkey');
  await page.getByRole('button', {name: 'Use a passkey'}).click();
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();

  // Remove it: two-step sign-in is off again, and the passkey no longer signs in.
  await page.getByRole('link', {name: 'Account', exact: true}).click();
  await page.getByRole('link', {name: 'Two-step sign-in'}).click();
  await page.getByRole('button', {name: 'Remove passkey Work laptop'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Remove passkey'}).click();
  await page.getByText('No passkeys yet.').waitFor();
  await page.getByText('You sign in with your password alone.').waitFor();
  await signOut(page, base);
  await page.getByRole('button', {name: 'Use a passkey'}).click();
  await page.getByText('Invalid passkey').waitFor();

  check(page.errors.length === 0, `page errors: ${page.errors.join('; ')}`);
  check(page.dialogs.length === 0, `dialogs: ${page.dialogs.join('; ')}`);
  await context.close();
}
