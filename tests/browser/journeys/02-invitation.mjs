// Journey 2: the owner invites a user from the users page -> the invitee opens the e-mailed link,
// chooses a password and signs in -> the owner changes their role -> the member's console hides
// what they may no longer do. Also: the organization's profile and settings, resending an
// invitation, deleting and restoring a user.
import {person, shoot as shootAll, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';

/** Screenshots without the passing notices (they would cover the page). */
async function shoot(page, name) {
  await page.evaluate(() => document.querySelectorAll('#notices .notice').forEach((n) => n.remove()));
  await shootAll(page, name);
}

/** Registers through the API (as any client may), verifies through the e-mailed link, signs in. */
async function ownerSignedIn(page, {server, smtp}, {email, password, firstName, lastName, companyName}) {
  const registered = await fetch(`${server.base}/user/register`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({email, password, firstName, lastName, companyName, isBusiness: true}),
  });
  check(registered.status === 201, `register: ${registered.status} ${await registered.text()}`);
  await page.goto(linkIn(await smtp.waitFor(email, /Verification token/)));
  await page.getByRole('button', {name: 'Verify my address'}).click();
  await page.getByText('Your e-mail address is verified.').waitFor();
  await page.getByRole('link', {name: 'Sign in'}).click();
  await signIn(page, email, password);
}

async function signIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
}

export async function run({browser, server, smtp}) {
  const {page: owner} = await person(browser);
  await ownerSignedIn(owner, {server, smtp}, {email: 'olivia@example.com', password: 'Secret123', firstName: 'Olivia', lastName: 'Owens', companyName: 'Acme'});

  // The organization page: profile, MFA enforcement, usage, settings, and the way to the users.
  await owner.getByRole('link', {name: 'Organization'}).click();
  await owner.getByRole('heading', {name: 'Organization', exact: true}).waitFor();
  await owner.getByLabel('Organization name').waitFor();
  check(await owner.getByLabel('Organization name').inputValue() === 'Acme', 'the profile shows the name');
  await owner.getByLabel('City').fill('Lisbon');
  await owner.getByRole('button', {name: 'Save organization'}).click();
  await owner.getByText('Organization updated successfully').waitFor();
  check(await owner.locator('meter').count() === 0, 'unlimited quotas draw no bar');
  // Plan usage (GET /user/quota), where the server has it: one user, no limits by default.
  const openapi = await (await fetch(`${server.base}/openapi.json`)).json();
  if (openapi.paths['/user/quota']) {
    await owner.getByText('Plan: Self-hosted').waitFor();
    await owner.getByText('1 (unlimited)').waitFor();
  } else {
    await owner.getByText('This server does not report plan usage.').waitFor();
  }
  const settings = owner.getByLabel('Organization settings (JSON)');
  await settings.fill('{"theme": ');
  await owner.getByRole('button', {name: 'Save settings'}).click();
  await owner.getByText('This is not valid JSON').waitFor();
  await settings.fill('{"theme": "dark", "motd": "<b>hello</b>"}');
  await owner.getByRole('button', {name: 'Save settings'}).click();
  await owner.getByText('Organization settings updated successfully').waitFor();
  await shoot(owner, 'organization');

  // Invite Ben as WORKSPACES from the users page.
  await owner.getByRole('link', {name: 'Manage users'}).click();
  await owner.getByRole('heading', {name: 'Users'}).waitFor();
  await owner.getByLabel('Email').fill('ben@example.com');
  await owner.getByLabel('First name').fill('Ben');
  await owner.getByLabel('Last name').fill('Park');
  await owner.getByLabel('Role', {exact: true}).selectOption({label: 'WORKSPACES'});
  await owner.getByRole('button', {name: 'Invite user'}).click();
  await owner.getByText('Invitation sent to ben@example.com.').waitFor();
  const benRow = owner.locator('tbody tr', {hasText: 'ben@example.com'});
  await benRow.getByText('Invitation pending').waitFor();
  check((await benRow.locator('td').nth(1).textContent()) === 'WORKSPACES', 'Ben is WORKSPACES');

  // Cara is added without an e-mail, then invited from the list; deleted, then restored.
  await owner.getByLabel('Email').fill('cara@example.com');
  await owner.getByLabel('First name').fill('Cara');
  await owner.getByLabel('Last name').fill('Diaz');
  await owner.getByLabel('Send the invitation now').uncheck();
  await owner.getByRole('button', {name: 'Invite user'}).click();
  await owner.getByText('Cara Diaz added.').waitFor();
  await owner.getByRole('button', {name: 'Resend the invitation to Cara Diaz'}).click();
  await owner.getByText('Invitation sent successfully').waitFor();
  await smtp.waitFor('cara@example.com', /invit/i);
  await owner.getByRole('button', {name: 'Delete Cara Diaz'}).click();
  await owner.getByRole('dialog').getByRole('button', {name: 'Delete user'}).click();
  await owner.getByText('User deleted successfully').waitFor();
  check(await owner.locator('tbody tr', {hasText: 'cara@example.com'}).count() === 0, 'deleted users are hidden by default');
  await owner.getByLabel('Show deleted users').check();
  const caraRow = owner.locator('tbody tr', {hasText: 'cara@example.com'});
  await caraRow.getByText('Deleted').waitFor();
  await owner.getByRole('button', {name: 'Restore Cara Diaz'}).click();
  await owner.getByText('User activated successfully').waitFor();
  await caraRow.getByText('Invitation pending').waitFor();
  // The owner cannot act on themselves from the list.
  check(await owner.locator('tbody tr', {hasText: 'olivia@example.com'}).getByRole('button').count() === 0, 'no actions on oneself');
  await shoot(owner, 'organization-users');

  // Ben opens the invitation, chooses a password, signs in: WORKSPACES creates workspaces.
  const {page: ben} = await person(browser);
  const invitation = await smtp.waitFor('ben@example.com', /invit/i);
  const link = linkIn(invitation);
  check(link.startsWith(`${server.base}/console/verify#token=`), `invitation link ${link}`);
  await ben.goto(link);
  await ben.getByLabel('Choose a password').fill('Benjamin1');
  await ben.getByRole('button', {name: 'Set password and verify'}).click();
  await ben.getByText('Your e-mail address is verified.').waitFor();
  await ben.getByRole('link', {name: 'Sign in'}).click();
  await signIn(ben, 'ben@example.com', 'Benjamin1');
  await ben.getByRole('button', {name: 'Create workspace'}).waitFor();
  await ben.getByRole('link', {name: 'Organization'}).click();
  await ben.getByRole('link', {name: 'Manage users'}).waitFor();
  check(await ben.getByRole('button', {name: 'Save organization'}).count() === 0, 'WORKSPACES does not edit the organization');
  check(await ben.getByRole('button', {name: 'Enforce MFA for everyone'}).count() === 0, 'WORKSPACES does not enforce MFA');

  // The owner makes Ben a USER.
  await owner.reload();
  await benRow.getByText('Active').waitFor();
  await owner.getByRole('combobox', {name: 'Role of Ben Park'}).selectOption({label: 'USER'});
  await owner.getByRole('button', {name: 'Change role of Ben Park'}).click();
  await owner.getByText('Ben Park is now USER.').waitFor();
  check((await benRow.locator('td').nth(1).textContent()) === 'USER', 'Ben is USER');

  // Ben's console now hides what a USER may not do.
  await ben.goto(`${server.base}/console/workspaces`);
  await ben.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await ben.getByText('You are not a member of any workspace yet.').waitFor();
  check(await ben.getByRole('button', {name: 'Create workspace'}).count() === 0, 'a USER sees no Create workspace');
  await ben.getByRole('link', {name: 'Organization'}).click();
  await ben.getByText('Managing the organization’s users needs the WORKSPACES role').waitFor();
  check(await ben.getByRole('link', {name: 'Manage users'}).count() === 0, 'a USER sees no Manage users');
  check(await ben.getByLabel('Organization settings (JSON)').textContent() === JSON.stringify({theme: 'dark', motd: '<b>hello</b>'}, null, 2)
    || (await ben.getByLabel('Organization settings (JSON)').textContent()).includes('"motd"'), 'a USER reads the settings as text');
  check(await ben.locator('main b').count() === 0, 'markup in settings made an element');
  check(await ben.getByRole('button', {name: 'Save settings'}).count() === 0, 'a USER does not write the settings');
  await shoot(ben, 'organization-member');
  await ben.goto(`${server.base}/console/organization/users`);
  await ben.getByRole('heading', {name: 'You cannot manage users'}).waitFor();
  check(await ben.getByRole('button', {name: 'Invite user'}).count() === 0, 'a USER cannot invite');
  await shoot(ben, 'organization-users-member');

  // Ben's own account: names, password, then deactivating it signs him out for good.
  await ben.getByRole('link', {name: 'Account'}).click();
  await ben.getByRole('heading', {name: 'Account', exact: true}).waitFor();
  await ben.getByLabel('First name').fill('Benedict');
  await ben.getByRole('button', {name: 'Save names'}).click();
  await ben.getByText('User updated successfully').waitFor();
  await ben.locator('.who-name', {hasText: 'Benedict Park'}).waitFor();
  await ben.getByLabel('New password', {exact: true}).fill('Benjamin2');
  await ben.getByLabel('New password again').fill('Benjamin3');
  await ben.getByRole('button', {name: 'Change password'}).click();
  await ben.getByText('The two new passwords are not the same.').waitFor();
  await ben.getByLabel('New password again').fill('Benjamin2');
  await ben.getByRole('button', {name: 'Change password'}).click();
  await ben.getByText('Your password was changed.').waitFor();
  await ben.getByRole('button', {name: 'Deactivate account'}).click();
  await ben.getByRole('dialog').getByRole('button', {name: 'Deactivate account'}).click();
  await ben.waitForURL(/\/console\/signin/);
  await ben.getByLabel('Email').fill('ben@example.com');
  await ben.getByLabel('Password').fill('Benjamin2');
  await ben.getByRole('button', {name: 'Sign in'}).click();
  await ben.locator('.form-error').waitFor();
  check(ben.url().includes('/console/signin'), 'a deactivated account cannot sign in');

  // The owner sees Ben deleted; the last owner cannot deactivate; MFA enforcement on and off.
  await owner.reload();
  await owner.getByLabel('Show deleted users').check();
  await benRow.getByText('Deleted').waitFor();
  await owner.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Account'}).click();
  await owner.getByRole('button', {name: 'Deactivate account'}).click();
  await owner.getByRole('dialog').getByRole('button', {name: 'Deactivate account'}).click();
  await owner.getByText('The last owner of an organization cannot be deactivated').waitFor();
  await owner.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Organization'}).click();
  await owner.getByRole('button', {name: 'Enforce MFA for everyone'}).click();
  await owner.getByRole('dialog').getByRole('button', {name: 'Enforce MFA'}).click();
  await owner.getByText('MFA enforcement enabled for organization').waitFor();
  await owner.getByText('Enforced', {exact: true}).waitFor();
  await owner.getByRole('button', {name: 'Stop enforcing MFA'}).click();
  await owner.getByText('MFA enforcement disabled for organization').waitFor();
  await owner.getByText('Not enforced', {exact: true}).waitFor();

  check(owner.errors.length === 0, `script errors (owner): ${owner.errors.join('; ')}`);
  check(ben.errors.length === 0, `script errors (member): ${ben.errors.join('; ')}`);
  check(owner.dialogs.length === 0 && ben.dialogs.length === 0, 'no browser dialog opened');
}
