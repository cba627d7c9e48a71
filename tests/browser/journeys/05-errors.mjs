// Journey 5: the API's own error messages, next to what caused them. A taken workspace name
// (409), a wrong password at sign-in (401), and a locked MFA step (429 after 5 wrong codes).
import {person, shoot, check} from '../lib/browser.mjs';
import {verifiedOwner, enrolTotp} from '../lib/api.mjs';

// The MFA lockout is counted in the database: on both backends.
export const onPostgres = true;

export async function run({browser, server, smtp}) {
  const {page} = await person(browser);
  await verifiedOwner(server, smtp, {email: 'eve@example.com', firstName: 'Eve', lastName: 'Stone'});

  // A wrong password: the API's message in the sign-in form's alert.
  await page.goto(`${server.base}/console/signin`);
  await page.getByLabel('Email').fill('eve@example.com');
  await page.getByLabel('Password').fill('Wrong1234');
  await page.getByRole('button', {name: 'Sign in'}).click();
  const signInAlert = page.locator('form').getByRole('alert');
  await signInAlert.waitFor();
  const wrongPassword = (await signInAlert.textContent()).trim();
  check(/password/i.test(wrongPassword), `wrong password said: ${wrongPassword}`);
  await shoot(page, 'error-wrong-password');

  // A taken workspace name: the 409 next to the create form, and next to the rename form.
  await page.getByLabel('Password').fill('Secret123');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  const taken = 'A workspace with this name already exists in the organization';
  for (const name of ['Alpha', 'Beta']) {
    await page.getByLabel('Workspace name').fill(name);
    await page.getByRole('button', {name: 'Create workspace'}).click();
    await page.getByRole('link', {name}).waitFor();
  }
  await page.getByLabel('Workspace name').fill('  alpha ');
  await page.getByRole('button', {name: 'Create workspace'}).click();
  const createForm = page.locator('form', {has: page.getByRole('button', {name: 'Create workspace'})});
  await createForm.getByRole('alert').filter({hasText: taken}).waitFor();
  await shoot(page, 'error-taken-name');
  await page.getByRole('link', {name: 'Beta'}).click();
  await page.getByRole('heading', {name: 'Beta'}).waitFor();
  await page.getByLabel('Workspace name').fill('ALPHA');
  await page.getByRole('button', {name: 'Rename'}).click();
  const renameForm = page.locator('form', {has: page.getByRole('button', {name: 'Rename'})});
  await renameForm.getByRole('alert').filter({hasText: taken}).waitFor();
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByRole('button', {name: 'Sign in'}).waitFor();

  // A locked MFA step: TOTP enrolled through the API, then 5 wrong codes in the browser.
  const owner = await verifiedOwner(server, smtp, {email: 'max@example.com', firstName: 'Max', lastName: 'Moor', companyName: 'Moor'});
  await enrolTotp(server, owner.accessToken);
  await page.getByLabel('Email').fill('max@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Two-step verification', exact: true}).waitFor();
  await shoot(page, 'mfa');
  const alert = page.locator('form').getByRole('alert');
  const messages = [];
  for (let i = 0; i < 6; i += 1) {
    await page.getByLabel('Code', {exact: true}).fill('000000');
    const answered = page.waitForResponse((r) => r.url().endsWith('/mfa/verify-login'));
    await page.getByRole('button', {name: 'Verify'}).click();
    await answered;
    await alert.waitFor();
    messages.push((await alert.textContent()).trim());
  }
  check(messages[0].startsWith('Invalid verification code'), `a wrong code said: ${messages[0]}`);
  check(messages[messages.length - 1].startsWith('Too many failed attempts'), `the lockout said: ${messages.join(' / ')}`);
  await shoot(page, 'error-mfa-locked');

  check(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
}
