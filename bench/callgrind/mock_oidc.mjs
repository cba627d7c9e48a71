// A minimal OpenID Connect provider for bench/callgrind/provider.sh: discovery and a JWKS on
// 127.0.0.1:PORT, counting their fetches (GET /counts), and one RS256 ID token for the client id
// CLIENT, valid for an hour, written to TOKEN_FILE.
//   node mock_oidc.mjs PORT CLIENT TOKEN_FILE
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const [port, client, tokenFile] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const {publicKey, privateKey} = crypto.generateKeyPairSync('rsa', {modulusLength: 2048});
const jwk = {...publicKey.export({format: 'jwk'}), kid: 'bench-key', alg: 'RS256', use: 'sig'};
const counts = {discovery: 0, jwks: 0};
const b64url = (data) => Buffer.from(data).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const header = b64url(JSON.stringify({alg: 'RS256', typ: 'JWT', kid: jwk.kid}));
const claims = b64url(JSON.stringify({
  iss: base, aud: client, sub: 'bench-subject', iat: now, exp: now + 3600,
  email: 'own@x.io', email_verified: true, name: 'O W',
}));
const signature = b64url(crypto.sign('sha256', Buffer.from(`${header}.${claims}`), privateKey));
fs.writeFileSync(tokenFile, `${header}.${claims}.${signature}`);

http.createServer((request, response) => {
  const json = (body) => {
    response.writeHead(200, {'Content-Type': 'application/json'});
    response.end(JSON.stringify(body));
  };
  if (request.url === '/.well-known/openid-configuration') {
    counts.discovery += 1;
    return json({issuer: base, jwks_uri: `${base}/jwks`, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`});
  }
  if (request.url === '/jwks') {
    counts.jwks += 1;
    return json({keys: [jwk]});
  }
  if (request.url === '/counts') return json(counts);
  response.writeHead(404);
  response.end();
}).listen(Number(port), '127.0.0.1');
