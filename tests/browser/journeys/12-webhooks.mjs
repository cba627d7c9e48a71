// Journey 12: an organization's owner adds a webhook on the console's webhooks page (the secret
// is shown once), creates a workspace, and a receiver running here in node gets the signed
// `workspace.created` delivery; the deliveries panel shows it delivered; a test delivery, turning
// the webhook off, rotating its secret and deleting it work from the page. The server runs with
// --webhooks-allow-private --webhooks-allow-http so it may deliver to this loopback receiver.
import crypto from 'node:crypto';
import http from 'node:http';
import {person, shoot, check} from '../lib/browser.mjs';
import {verifiedOwner} from '../lib/api.mjs';

export const onPostgres = true;
export const serverArgs = ['--webhooks-allow-private', '--webhooks-allow-http'];

/** Checks a Standard Webhooks signature header against `secret` (whsec_ + base64 key). */
function signedBy(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const content = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
  const expected = crypto.createHmac('sha256', key).update(content).digest('base64');
  return (headers['webhook-signature'] || '').split(' ').some((s) => s === `v1,${expected}`);
}

/** A receiver on loopback that keeps every delivery and answers 204. */
export async function setup() {
  const received = [];
  const waiting = [];
  const server = http.createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    received.push({headers: request.headers, body, json: JSON.parse(body)});
    for (const wake of waiting.splice(0)) wake();
    response.writeHead(204);
    response.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  /** The first delivery of `type`, waiting up to 15 s for it. */
  async function delivery(type) {
    const deadline = Date.now() + 15000;
    for (;;) {
      const found = received.find((d) => d.json.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} delivery; got ${received.map((d) => d.json.type).join(', ') || 'none'}`);
      await new Promise((resolve) => { waiting.push(resolve); setTimeout(resolve, 250); });
    }
  }
  return {url, received, delivery, close: () => new Promise((resolve) => server.close(resolve))};
}

export async function run({browser, server, smtp, setup: receiver}) {
  await verifiedOwner(server, smtp, {email: 'owen@example.com', firstName: 'Owen', lastName: 'Hook', companyName: 'Hooks Inc'});
  const {page} = await person(browser);
  await page.goto(`${server.base}/console/signin`);
  await page.getByLabel('Email').fill('owen@example.com');
  await page.getByLabel('Password').fill('Secret123');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();

  // The organization page lists webhooks and leads to the page that manages them.
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Organization'}).click();
  await page.getByText('No webhooks: add one').waitFor();
  await page.getByRole('link', {name: 'Manage webhooks'}).click();
  await page.getByRole('heading', {name: 'Webhooks'}).waitFor();
  await page.getByText('No webhooks yet').waitFor();

  // Add one: the secret is shown once.
  const add = page.locator('form', {has: page.getByRole('button', {name: 'Add webhook'})});
  await add.getByLabel('URL').fill(receiver.url);
  await add.getByLabel('Events (optional)').fill('workspace.*');
  await add.getByLabel('Description (optional)').fill('Provisioning <script>alert(1)</script>');
  await add.getByRole('button', {name: 'Add webhook'}).click();
  const secretField = page.getByLabel(`Signing secret for ${receiver.url}`);
  await secretField.waitFor();
  const secret = await secretField.inputValue();
  check(/^whsec_[A-Za-z0-9+/]{43}=$/.test(secret), `the secret shown: ${secret}`);
  const row = page.getByRole('row', {name: new RegExp(receiver.url.replace(/[.:/]/g, '\\$&'))});
  await row.getByText('enabled').waitFor();
  await page.getByText('Provisioning <script>alert(1)</script>').waitFor();
  await shoot(page, 'webhooks');

  // A change in the organization reaches the receiver, signed with that secret.
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Workspaces'}).click();
  await page.getByLabel('Workspace name').fill('Delivered');
  await page.getByRole('button', {name: 'Create workspace'}).click();
  await page.getByRole('link', {name: 'Delivered'}).waitFor();
  const created = await receiver.delivery('workspace.created');
  check(signedBy(secret, created.headers, created.body), 'the delivery is signed with the secret shown');
  check(created.json.data && JSON.stringify(created.json.data).includes('Delivered'), `the event names the workspace: ${created.body}`);

  // The deliveries panel shows it delivered; a test delivery arrives too.
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Organization'}).click();
  await page.getByText('1 webhook, 1 enabled').waitFor();
  await page.getByRole('link', {name: 'Manage webhooks'}).click();
  await row.getByRole('button', {name: 'Send test'}).click();
  await page.getByText('test delivery').waitFor();
  const test = await receiver.delivery('webhook.test');
  check(signedBy(secret, test.headers, test.body), 'the test delivery is signed');
  await row.getByRole('button', {name: 'Deliveries'}).click();
  const deliveries = page.getByRole('table', {name: `Deliveries to ${receiver.url}`});
  await deliveries.getByRole('cell', {name: /workspace\.created/}).waitFor();
  await deliveries.getByText('delivered').first().waitFor();
  await shoot(page, 'webhook-deliveries');

  // Turn it off, rotate its secret (shown once more), delete it.
  await row.getByRole('button', {name: 'Edit'}).click();
  await page.getByLabel('Enabled').uncheck();
  await page.getByRole('button', {name: 'Save changes'}).click();
  await row.getByText('disabled').waitFor();
  await row.getByRole('button', {name: 'Rotate secret'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Rotate secret'}).click();
  await page.getByRole('heading', {name: 'New signing secret'}).waitFor();
  const rotated = await page.getByLabel(`Signing secret for ${receiver.url}`).inputValue();
  check(rotated.startsWith('whsec_') && rotated !== secret, 'a new secret is shown');
  await row.getByRole('button', {name: 'Delete'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Delete webhook'}).click();
  await page.getByText('No webhooks yet').waitFor();
}
