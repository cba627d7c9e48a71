// Journey 7: an instance administrator creates an activation link on the links page; the
// invitee opens the e-mailed link (/console/activate#uid=...&token=...), registers a new
// organization with the invited address and lands signed in. Also: copy, edit and delete a link.
import {person, shoot, check} from '../lib/browser.mjs';
import {linkIn} from '../lib/smtp.mjs';
import {verifiedOwner} from '../lib/api.mjs';

export async function run({browser, server, smtp}) {
  await verifiedOwner(server, smtp, {email: 'root@example.com', firstName: 'Rita', lastName: 'Root', companyName: 'Operators'});
  server.cli('admin', 'grant', 'root@example.com');

  const admin = (await person(browser)).page;
  await admin.goto(`${server.base}/console/signin`);
  await admin.getByLabel('Email').fill('root@example.com');
  await admin.getByLabel('Password').fill('Secret123');
  await admin.getByRole('button', {name: 'Sign in'}).click();
  await admin.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await admin.getByRole('link', {name: 'Activation links'}).click();
  await admin.getByRole('heading', {name: 'Activation links'}).waitFor();
  await admin.getByText('No activation links yet').waitFor();

  // Create a link: it is e-mailed, and shown to copy.
  const createForm = admin.locator('form', {has: admin.getByRole('button', {name: 'Create link'})});
  await createForm.getByLabel('Email').fill('nina@example.com');
  await createForm.getByLabel('Their name (optional)').fill('Nina');
  await createForm.getByLabel('Description (optional)').fill('Nina’s team');
  await createForm.getByRole('button', {name: 'Create link'}).click();
  const shown = admin.getByLabel('Activation link for nina@example.com');
  await shown.waitFor();
  const copied = await shown.inputValue();
  check(copied.startsWith(`${server.base}/console/activate#uid=`) && copied.includes('&token='), `the link shown: ${copied}`);
  check(await shown.getAttribute('readonly') !== null, 'the link field is read-only');
  await admin.getByRole('cell', {name: 'nina@example.com'}).waitFor();
  await admin.getByRole('cell', {name: 'pending'}).waitFor();
  await shoot(admin, 'links');

  // A second link: edit its description, then delete it.
  await createForm.getByLabel('Email').fill('omar@example.com');
  await createForm.getByRole('button', {name: 'Create link'}).click();
  await admin.getByRole('cell', {name: 'omar@example.com'}).waitFor();
  const omar = admin.getByRole('row', {name: /omar@example\.com/});
  await omar.getByRole('button', {name: 'Edit'}).click();
  await admin.getByLabel('Description', {exact: true}).fill('Contractor');
  await admin.getByRole('button', {name: 'Save changes'}).click();
  await admin.getByRole('cell', {name: 'Contractor'}).waitFor();
  await omar.getByRole('button', {name: 'Delete'}).click();
  await admin.getByRole('dialog').getByRole('button', {name: 'Delete link'}).click();
  await admin.getByRole('cell', {name: 'omar@example.com'}).waitFor({state: 'detached'});

  // The invitee opens the e-mailed link in their own browser and registers.
  const mail = await smtp.waitFor('nina@example.com', /console\/activate/);
  const link = linkIn(mail);
  check(link === copied, `the e-mailed link ${link} is the one shown ${copied}`);
  const {page} = await person(browser);
  await page.goto(link);
  await page.getByRole('heading', {name: 'Create your organization'}).waitFor();
  check(!page.url().includes('token='), 'the token left the address bar');
  const email = page.getByLabel('Email');
  check(await email.inputValue() === 'nina@example.com', 'the invited address is filled in');
  check(await email.getAttribute('readonly') !== null, 'the invited address is fixed');
  await page.getByLabel('Password').fill('Invited123');
  await page.getByLabel('First name').fill('Nina');
  await page.getByLabel('Last name').fill('Novak');
  await page.getByLabel('Company name').fill('Novak Labs');
  await shoot(page, 'activate');
  await page.getByRole('button', {name: 'Sign up'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  await page.getByText('Nina Novak').waitFor();
  // Verified by the link: no "not verified" banner, and creating works.
  check(await page.getByText('is not verified yet').count() === 0, 'the account starts verified');
  await page.getByLabel('Workspace name').fill('Research');
  await page.getByRole('button', {name: 'Create workspace'}).click();
  await page.getByRole('link', {name: 'Research'}).waitFor();

  // The link is spent: opening it again says so; the administrator sees it activated.
  const again = (await person(browser)).page;
  await again.goto(link);
  await again.getByText('already used').waitFor();
  await admin.reload();
  await admin.getByRole('cell', {name: 'activated'}).waitFor();

  for (const p of [admin, page, again]) check(p.errors.length === 0, `script errors: ${p.errors.join('; ')}`);
}
