// Journey 10: sign in with an identity provider. A tiny OpenID Connect provider runs here in
// node (discovery, JWKS, an authorization endpoint that sends the browser straight back with a
// code, a token endpoint that checks the client secret and PKCE and signs an RS256 ID token with
// the request's nonce); the server knows it through --oidc-provider. The sign-in page shows its
// button; clicking it signs a new person in end to end, and the one-time code leaves the address
// bar.
import crypto from 'node:crypto';
import http from 'node:http';
import {person, shoot, check} from '../lib/browser.mjs';

export const onPostgres = true;

const CLIENT_ID = 'workspaces-journey';
const CLIENT_SECRET = 'journey-secret';

const b64url = (data) => Buffer.from(data).toString('base64url');

/** Starts the provider before the server, which is told about it by `serverArgs`. */
export async function setup() {
  const {publicKey, privateKey} = crypto.generateKeyPairSync('rsa', {modulusLength: 2048});
  const jwk = {...publicKey.export({format: 'jwk'}), kid: 'journey-key', alg: 'RS256', use: 'sig'};
  const codes = new Map();
  const seen = {discovery: 0, token: 0};
  let base = '';
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, base);
    const json = (status, body) => {
      response.writeHead(status, {'Content-Type': 'application/json'});
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      seen.discovery += 1;
      return json(200, {
        issuer: base, jwks_uri: `${base}/jwks`, authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`, response_types_supported: ['code'],
        subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (url.pathname === '/jwks') return json(200, {keys: [jwk]});
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      const code = b64url(crypto.randomBytes(24));
      codes.set(code, {nonce: q.get('nonce'), challenge: q.get('code_challenge'), redirectUri: q.get('redirect_uri')});
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state'));
      response.writeHead(302, {Location: back.toString()});
      return response.end();
    }
    if (url.pathname === '/token' && request.method === 'POST') {
      seen.token += 1;
      let body = '';
      for await (const chunk of request) body += chunk;
      const form = new URLSearchParams(body);
      const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
      if (request.headers.authorization !== basic) return json(401, {error: 'invalid_client'});
      const grant = codes.get(form.get('code'));
      codes.delete(form.get('code'));
      if (!grant || grant.redirectUri !== form.get('redirect_uri')) return json(400, {error: 'invalid_grant'});
      const challenge = b64url(crypto.createHash('sha256').update(form.get('code_verifier') || '').digest());
      if (challenge !== grant.challenge) return json(400, {error: 'invalid_grant'});
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({alg: 'RS256', typ: 'JWT', kid: jwk.kid}));
      const claims = b64url(JSON.stringify({
        iss: base, aud: CLIENT_ID, sub: 'journey-subject', iat: now, exp: now + 300, nonce: grant.nonce,
        email: 'kim@example.com', email_verified: true, name: 'Kim Lee', given_name: 'Kim', family_name: 'Lee',
      }));
      const signature = b64url(crypto.sign('sha256', Buffer.from(`${header}.${claims}`), privateKey));
      return json(200, {access_token: 'at', token_type: 'Bearer', id_token: `${header}.${claims}.${signature}`});
    }
    json(404, {error: 'not found'});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    serverArgs: ['--oidc-provider', `corp,${base},${CLIENT_ID},${CLIENT_SECRET}`],
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export async function run({browser, server, setup: provider}) {
  const {page} = await person(browser);
  await page.goto(`${server.base}/console/signin`);
  const button = page.getByRole('link', {name: 'Sign in with corp'});
  await button.waitFor();
  await shoot(page, 'signin-providers');
  await button.click();
  await page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  check(page.url() === `${server.base}/console/workspaces`, `url ${page.url()}`);
  check(!page.url().includes('code='), 'the one-time code left the address bar');
  check(provider.seen.token === 1, `token requests ${provider.seen.token}`);
  check(provider.seen.discovery === 1, `discovery fetched ${provider.seen.discovery} times`);
  await page.getByText('No workspaces yet').waitFor();
  await shoot(page, 'signed-in-with-provider');

  // Signed in as the provider's person: a new organization named after her.
  await page.getByRole('link', {name: 'Organization'}).click();
  await page.getByText("Kim Lee's organization").first().waitFor();

  // A second sign-in from another browser signs in the same account, discovery still cached.
  const other = await person(browser);
  await other.page.goto(`${server.base}/console/signin`);
  await other.page.getByRole('link', {name: 'Sign in with corp'}).click();
  await other.page.getByRole('heading', {name: 'Workspaces'}).waitFor();
  check(provider.seen.discovery === 1, `discovery fetched ${provider.seen.discovery} times`);

  // A replayed or made-up code shows an error with a way back.
  await other.page.goto(`${server.base}/console/signed-in#code=made-up`);
  await other.page.getByText('This sign-in expired or was already used. Start it again.').waitFor();
  await other.page.getByRole('link', {name: 'Back to sign in'}).waitFor();
}
