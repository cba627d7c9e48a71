// Journey 3: enrol an authenticator app on the security page (the test computes TOTP codes from
// the secret the page shows, RFC 6238) -> sign out -> sign in: the console asks for the second
// step at /console/mfa -> a code -> signed in -> sign out -> sign in with a backup code.
import crypto from 'node:crypto';
import {person, shoot as shootAll, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';

/** Screenshots without the passing notices (they would cover the page). */
async function shoot(page, name) {
  await page.evaluate(() => document.querySelectorAll('#notices .notice').forEach((n) => n.remove()));
  await shootAll(page, name);
}

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP: HMAC-SHA-1, 30-second steps, 6 digits, at Unix time `ms`. */
export function totp(secret, ms = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, '0');
}

async function signIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
}

async function signOut(page, base) {
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.waitForURL(`${base}/console/signin`);
}

export async function run({browser, server, smtp}) {
  // RFC 6238's own test vector (SHA-1, T = 59 s): the test's TOTP is right before it is used.
  check(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000) === '287082', 'TOTP test vector');

  const email = 'mia@example.com';
  const password = 'Secret123';
  const registered = await fetch(`${server.base}/user/register`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email, password, firstName: 'Mia', lastName: 'Faro', companyName: 'Faro', isBusiness: true}),
  });
  check(registered.status === 201, `register: ${registered.status}`);
  const {page} = await person(browser);
  await page.goto(linkIn(await smtp.waitFor(email, /Verification token/)));
  await page.getByRole('button', {name: 'Verify my address'}).click();
  await page.getByText('Your e-mail address is verified.').waitFor();
  await page.getByRole('link', {name: 'Sign in'}).click();
  await signIn(page, email, password);
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();

  // Account -> Two-step sign-in: off, two methods offered.
  await page.getByRole('link', {name: 'Account'}).click();
  await page.getByRole('heading', {name: 'Account', exact: true}).waitFor();
  await shoot(page, 'account');
  await page.getByRole('link', {name: 'Two-step sign-in'}).click();
  await page.getByRole('heading', {name: 'Two-step sign-in', exact: true}).waitFor();
  await page.getByText('You sign in with your password alone.').waitFor();
  await shoot(page, 'security');

  // Enrol the authenticator app: QR code, key, backup codes shown once, then a code.
  await page.getByRole('button', {name: 'Set up Authenticator app'}).click();
  await page.getByRole('heading', {name: 'Set up an authenticator app'}).waitFor();
  const qr = page.getByRole('img', {name: 'QR code that adds this account to an authenticator app'});
  check((await qr.getAttribute('src')).startsWith('data:image/png;base64,'), 'the QR code is a data: image');
  check(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image loaded (CSP img-src data:)');
  const secret = (await page.getByLabel('Secret key').textContent()).replace(/\s+/g, '');
  check(/^[A-Z2-7]{16,}$/.test(secret), `secret ${secret}`);
  const backupCodes = (await page.getByRole('list', {name: 'Backup codes'}).getByRole('listitem').allTextContents()).map((c) => c.trim());
  check(backupCodes.length === 10, `backup codes: ${backupCodes.length}`);
  check(await page.getByLabel('Code', {exact: true}).isHidden(), 'the code comes after saving the backup codes');
  await shoot(page, 'security-totp-setup');
  await page.getByRole('button', {name: 'I have saved them'}).click();
  check(await page.getByText(backupCodes[0]).count() === 0, 'the backup codes are shown once');
  await page.getByLabel('Code', {exact: true}).fill('000000' === totp(secret) ? '111111' : '000000');
  await page.getByRole('button', {name: 'Verify and turn on'}).click();
  await page.getByText('MFA setup verification failed').waitFor();
  const enrolledAt = Date.now();
  await page.getByLabel('Code', {exact: true}).fill(totp(secret, enrolledAt));
  await page.getByRole('button', {name: 'Verify and turn on'}).click();
  await page.getByText('Two-step sign-in with your authenticator app is on.').waitFor();
  await page.locator('main').getByText('On', {exact: true}).first().waitFor();
  await shoot(page, 'security-on');

  // Sign out, sign in: the second step asks for a code. Each code works once, so the login uses
  // the next step's code (one step of drift is allowed).
  await signOut(page, server.base);
  await signIn(page, email, password);
  await page.waitForURL(`${server.base}/console/mfa`);
  await page.getByLabel('Code', {exact: true}).fill(totp(secret, enrolledAt + 30_000));
  await page.getByRole('button', {name: 'Verify', exact: true}).click();
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();
  check(page.url() === `${server.base}/console/workspaces`, `after the code: ${page.url()}`);

  // Again, with a backup code.
  await signOut(page, server.base);
  await signIn(page, email, password);
  await page.waitForURL(`${server.base}/console/mfa`);
  await page.getByLabel('Code', {exact: true}).fill(backupCodes[0]);
  await page.getByRole('button', {name: 'Verify', exact: true}).click();
  await page.getByRole('heading', {name: 'Workspaces', exact: true}).waitFor();

  // Signed in with MFA: the security page manages methods. A sign-in link by e-mail is set up
  // by its activation e-mail.
  await page.goto(`${server.base}/console/account/security`);
  await page.getByRole('heading', {name: 'Two-step sign-in', exact: true}).waitFor();
  await page.getByRole('button', {name: 'Send activation e-mail'}).click();
  await page.getByRole('heading', {name: 'Check your e-mail'}).waitFor();
  const activation = await smtp.waitFor(email, /mfa-activate#token=/);
  check(linkIn(activation).startsWith(`${server.base}/console/mfa-activate#token=`), 'the activation link opens the console');

  check(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
  check(page.dialogs.length === 0, `a dialog opened: ${page.dialogs}`);
}
