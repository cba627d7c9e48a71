// Journey 9: the rest of the pages of this part of the console. A workspace's members (add from
// the organization's users, change the role, remove); forgot and reset password through the
// e-mailed link; sign-in links turned on from their e-mail (/console/mfa-activate); the MFA
// step with a backup code, then with a sign-in link opened in another tab of the browser; and
// an organization that enforces MFA: its member without a method enrols an authenticator app
// at the MFA step (the test computes the code from the key the page shows, plus the e-mailed
// setup code).
import {person, shoot, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';
import {verifiedOwner, enrolTotp, call, totp} from '../lib/api.mjs';

async function signIn(page, server, email, password) {
  await page.goto(`${server.base}/console/signin`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
}

export async function run({browser, server, smtp}) {
  const owner = await verifiedOwner(server, smtp, {email: 'olga@example.com', firstName: 'Olga', lastName: 'Owen', companyName: 'Owen'});
  const pete = await call(server, 'POST', '/organization/users', {token: owner.accessToken,
    body: {email: 'pete@example.com', password: 'Secret123', firstName: 'Pete', lastName: 'Park', orgRole: 0, sendInvite: false}});
  check(pete.status === 201, `adding Pete: ${JSON.stringify(pete.body)}`);
  const made = await call(server, 'POST', '/workspace', {token: owner.accessToken, body: {name: 'Shared'}});

  // Members: add Pete as WRITE, make him ADMIN, remove him.
  const {context, page} = await person(browser);
  await signIn(page, server, 'olga@example.com', 'Secret123');
  await page.getByRole('link', {name: 'Shared'}).click();
  await page.getByRole('heading', {name: 'Shared'}).waitFor();
  await page.getByLabel('Person').selectOption({label: 'Pete Park <pete@example.com> (not verified yet)'});
  await page.getByLabel('Role', {exact: true}).selectOption('WRITE');
  await page.getByRole('button', {name: 'Add member'}).click();
  const peteRow = page.getByRole('row', {name: /pete@example\.com/});
  await peteRow.waitFor();
  check(await page.getByLabel('Role of Pete Park').inputValue() === 'WRITE', 'Pete joined as WRITE');
  await page.getByLabel('Role of Pete Park').selectOption('ADMIN');
  await peteRow.getByRole('button', {name: 'Change'}).click();
  await page.getByText('Pete Park is now ADMIN.').waitFor();
  const members = await call(server, 'GET', `/workspace/${made.body.workspace.id}`, {token: owner.accessToken});
  check(members.body.workspace.users.find((u) => u.user.email === 'pete@example.com').role === 'ADMIN', 'the API agrees Pete is ADMIN');
  await shoot(page, 'workspace-members');
  await peteRow.getByRole('button', {name: 'Remove'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Remove member'}).click();
  await peteRow.waitFor({state: 'detached'});
  await page.getByRole('button', {name: 'Sign out'}).click();

  // Forgot and reset the password.
  await page.getByRole('link', {name: 'Forgot your password?'}).click();
  await page.getByLabel('Email').fill('olga@example.com');
  await shoot(page, 'forgot-password');
  await page.getByRole('button', {name: 'Send the link'}).click();
  await page.getByText('If an account uses this address').waitFor();
  const reset = linkIn(await smtp.waitFor('olga@example.com', /Password reset token/));
  check(reset.startsWith(`${server.base}/console/reset-password#token=`), `reset link ${reset}`);
  await page.goto(reset);
  await page.getByLabel('New password', {exact: true}).fill('Renewed123');
  await page.getByLabel('Repeat the new password').fill('Renewed999');
  await page.getByRole('button', {name: 'Set the new password'}).click();
  await page.getByRole('alert').filter({hasText: 'The two passwords differ.'}).waitFor();
  await page.getByLabel('Repeat the new password').fill('Renewed123');
  await shoot(page, 'reset-password');
  await page.getByRole('button', {name: 'Set the new password'}).click();
  await page.getByText('Your password is changed.').waitFor();
  const old = await call(server, 'POST', '/user/login', {body: {email: 'olga@example.com', password: 'Secret123'}});
  check(old.status === 401, `the old password still works (${old.status})`);

  // TOTP (through the API) and sign-in links, turned on from their e-mail in the browser.
  const login = await call(server, 'POST', '/user/login', {body: {email: 'olga@example.com', password: 'Renewed123'}});
  const {backupCodes} = await enrolTotp(server, login.body.accessToken);
  const setup = await call(server, 'POST', '/mfa/setup', {token: login.body.accessToken, body: {mfaType: 'MAGIC_LINK'}});
  check(setup.status === 200, `magic link setup: ${JSON.stringify(setup.body)}`);
  const activation = linkIn(await smtp.waitFor('olga@example.com', /Activation token/));
  const other = (await person(browser)).page;
  await other.goto(activation);
  await other.getByText('Magic link MFA activated successfully').waitFor();
  await shoot(other, 'mfa-activate');

  // The MFA step with a backup code.
  await signIn(page, server, 'olga@example.com', 'Renewed123');
  await page.getByRole('heading', {name: 'Two-step verification', exact: true}).waitFor();
  await page.getByLabel('Code', {exact: true}).fill(backupCodes[0]);
  await page.getByRole('button', {name: 'Verify'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await page.getByRole('link', {name: 'Shared'}).waitFor();
  await page.getByRole('button', {name: 'Sign out'}).click();

  // The MFA step with a sign-in link, opened in another tab of this browser.
  await signIn(page, server, 'olga@example.com', 'Renewed123');
  await page.getByRole('heading', {name: 'Two-step verification', exact: true}).waitFor();
  await page.getByRole('button', {name: 'Send me a sign-in link'}).click();
  await page.getByText('We e-mailed you a sign-in link').waitFor();
  const signInLink = linkIn(await smtp.waitFor('olga@example.com', /Sign-in token/));
  check(signInLink.startsWith(`${server.base}/console/magic-link#token=`), `sign-in link ${signInLink}`);
  const tab = await context.newPage();
  tab.errors = [];
  tab.on('pageerror', (error) => tab.errors.push(error.message));
  await tab.goto(signInLink);
  await tab.getByText('You are signed in, in the tab where you started.').waitFor();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await page.getByRole('link', {name: 'Shared'}).waitFor();
  await shoot(tab, 'magic-link');

  // Enforced MFA and no method yet: enrolment at the MFA step.
  const ursula = await verifiedOwner(server, smtp, {email: 'ursula@example.com', firstName: 'Ursula', lastName: 'Ulm', companyName: 'Ulm'});
  const enforce = await call(server, 'POST', '/mfa/organization/enforce', {token: ursula.accessToken, body: {enforced: true}});
  check(enforce.status === 200, `enforcing MFA: ${JSON.stringify(enforce.body)}`);
  const third = (await person(browser)).page;
  await signIn(third, server, 'ursula@example.com', 'Secret123');
  await third.getByRole('heading', {name: 'Two-step verification', exact: true}).waitFor();
  await third.getByRole('button', {name: 'Set up an authenticator app'}).click();
  const key = (await third.locator('code.secret').textContent()).trim();
  check(await third.getByRole('img', {name: /QR code/}).count() === 1, 'the QR code is shown');
  check(await third.locator('ul.codes li').count() === 10, 'ten backup codes are shown');
  const setupMail = await smtp.waitFor('ursula@example.com', /Setup code/);
  const emailCode = /Setup code: (\S+)/.exec(setupMail.text)[1];
  await third.getByLabel('Code', {exact: true}).fill(totp(key));
  await third.getByLabel('E-mailed code').fill(emailCode);
  await shoot(third, 'mfa-enrol');
  await third.getByRole('button', {name: 'Verify'}).click();
  await third.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await third.getByText('No workspaces yet').waitFor();

  for (const p of [page, other, tab, third]) check(p.errors.length === 0, `script errors: ${p.errors.join('; ')}`);
}
