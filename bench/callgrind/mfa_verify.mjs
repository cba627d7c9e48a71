// The driver of mfa_verify.sh: instructions per second-factor verification of a server running
// under callgrind (process VPID, dumping to OUT/cg-LABEL.out.N), for TOTP and for a passkey, and
// per passwordless sign-in. What each measured request needs (a pending session, its challenge,
// the assertion) is made before the counters are zeroed, so the password logins' Argon2 is never
// counted.
//
//   node mfa_verify.mjs PORT VPID BINARY DATABASE_FILE OUT LABEL N
//
// The passkey is a software authenticator (P-256, "none" attestation, a counter that grows by
// one per assertion), as the API tests' `support/passkey.rs`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import {execFileSync} from 'node:child_process';

const [port, vpid, bin, dbFile, out, label, nText] = process.argv.slice(2);
const n = Number(nText);
const BATCH = 10; // a user keeps at most 10 pending sessions
const base = `http://127.0.0.1:${port}`;

async function call(method, path, body, token) {
  const headers = {'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const parsed = await response.json().catch(() => null);
  return {status: response.status, body: parsed};
}

async function ok(method, path, body, token) {
  const answer = await call(method, path, body, token);
  if (answer.status !== 200 && answer.status !== 201) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest();

// ---- CBOR, as much as an attestation object needs
function head(major, value) {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 256) return Buffer.from([(major << 5) | 24, value]);
  if (value < 65536) return Buffer.from([(major << 5) | 25, value >> 8, value & 255]);
  throw new Error('too long');
}
function cbor(value) {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new Error(`cbor: ${value}`);
}

class SoftPasskey {
  constructor() {
    const {privateKey, publicKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'});
    this.key = privateKey;
    this.jwk = publicKey.export({format: 'jwk'});
    this.id = crypto.randomBytes(16);
    this.counter = 1;
  }
  clientData(type, challenge, origin) {
    return Buffer.from(JSON.stringify({type, challenge, origin, crossOrigin: false}));
  }
  register(challenge, origin, rpId) {
    const cose = cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(this.jwk.x, 'base64url')], [-3, Buffer.from(this.jwk.y, 'base64url')]]));
    const counter = Buffer.alloc(4); counter.writeUInt32BE(this.counter);
    const idLength = Buffer.alloc(2); idLength.writeUInt16BE(this.id.length);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([0x45]), counter, Buffer.alloc(16), idLength, this.id, cose]);
    const attestation = cbor(new Map([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id: b64(this.id), rawId: b64(this.id), type: 'public-key',
      response: {clientDataJSON: b64(this.clientData('webauthn.create', challenge, origin)), attestationObject: b64(attestation), transports: ['internal']},
      clientExtensionResults: {},
    };
  }
  assert(challenge, origin, rpId, userHandle) {
    this.counter += 1;
    const counter = Buffer.alloc(4); counter.writeUInt32BE(this.counter);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([0x05]), counter]);
    const clientData = this.clientData('webauthn.get', challenge, origin);
    const signature = crypto.sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.key);
    const response = {authenticatorData: b64(authData), clientDataJSON: b64(clientData), signature: b64(signature)};
    if (userHandle) response.userHandle = userHandle;
    return {id: b64(this.id), rawId: b64(this.id), type: 'public-key', response, clientExtensionResults: {}};
  }
}

function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secret.replace(/=/g, '')) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const step = Buffer.alloc(8); step.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const mac = crypto.createHmac('sha1', key).update(step).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

async function verifiedAccount(email) {
  await ok('POST', '/user/register', {email, password: 'Secret123', firstName: 'B', lastName: 'M', companyName: 'Bench', isBusiness: true});
  execFileSync(bin, ['--database-url', `sqlite://${dbFile}`, 'user', 'verify', email], {stdio: 'ignore'});
  return (await ok('POST', '/user/login', {email, password: 'Secret123'})).accessToken;
}

/** Dumps (and zeroes) the counters; the instructions since the last dump. */
function dump(name) {
  if (process.env.DRY_RUN) return 0; // the driver checked against a server not under callgrind
  execFileSync('callgrind_control', ['-d', name, vpid], {stdio: 'ignore'});
  const files = fs.readdirSync(out).filter((f) => f.startsWith(`cg-${label}.out.`))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  const text = fs.readFileSync(`${out}/${files[files.length - 1]}`, 'utf8');
  return Number(/^summary: (\d+)/m.exec(text)[1]);
}

/** Runs `n` measured requests in batches: `prepare(k)` makes k of them, `send` sends one. */
async function measure(name, prepare, send) {
  let total = 0;
  for (let done = 0; done < n; done += BATCH) {
    const ready = await prepare(Math.min(BATCH, n - done));
    dump(`prep-${name}`);
    for (const item of ready) await send(item);
    total += dump(name);
  }
  return Math.round(total / n);
}

// TOTP: an account with the authenticator app on.
const totpToken = await verifiedAccount(`totp-${Date.now()}@x.io`);
const {secret} = (await ok('POST', '/mfa/setup', {mfaType: 'GOOGLE_AUTH'}, totpToken)).data;
await ok('POST', '/mfa/verify-setup', {mfaType: 'GOOGLE_AUTH', code: totp(secret)}, totpToken);
const totpEmail = JSON.parse(Buffer.from(totpToken.split('.')[1], 'base64url')).email;

// A passkey: an account whose only method it is.
const passkeyToken = await verifiedAccount(`passkey-${Date.now()}@x.io`);
const setup = (await ok('POST', '/mfa/setup', {mfaType: 'PASSKEY'}, passkeyToken)).data;
const passkey = new SoftPasskey();
await ok('POST', '/mfa/passkey/complete-registration', {credential: passkey.register(setup.challenge, setup.origin, setup.rpID), challenge: setup.challenge, name: 'Bench'}, passkeyToken);
const passkeyEmail = JSON.parse(Buffer.from(passkeyToken.split('.')[1], 'base64url')).email;
const {origin, rpID: rpId, userId: userHandle} = setup;

const pendingLogins = async (email, k) => {
  const tokens = [];
  for (let i = 0; i < k; i++) {
    const login = await ok('POST', '/user/login', {email, password: 'Secret123'});
    if (!login.mfaRequired) throw new Error('the login is not pending');
    tokens.push(login.accessToken);
  }
  return tokens;
};
const forgetSpentStep = () => execFileSync('python3', ['-c',
  'import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=5); c.execute("UPDATE mfa_methods SET last_step = -1"); c.commit()', dbFile]);

const results = {};
results['verify-login TOTP'] = await measure('totp', (k) => pendingLogins(totpEmail, k), async (token) => {
  // The code's step was spent by the previous verification: forget it (as if 30 s had passed).
  // This process's write is not the server's: callgrind does not count it.
  forgetSpentStep();
  const answer = await call('POST', '/mfa/verify-login', {mfaType: 'GOOGLE_AUTH', code: totp(secret)}, token);
  if (answer.status !== 200) throw new Error(`TOTP verify-login: ${answer.status} ${JSON.stringify(answer.body)}`);
});
results['verify-login PASSKEY'] = await measure('passkey', async (k) => {
  const ready = [];
  for (const token of await pendingLogins(passkeyEmail, k)) {
    const options = (await ok('POST', '/mfa/passkey/auth-options', undefined, token)).data;
    ready.push({token, credential: passkey.assert(options.challenge, origin, rpId)});
  }
  return ready;
}, async ({token, credential}) => {
  const answer = await call('POST', '/mfa/verify-login', {mfaType: 'PASSKEY', credential}, token);
  if (answer.status !== 200) throw new Error(`passkey verify-login: ${answer.status} ${JSON.stringify(answer.body)}`);
});
results['auth/passkey/verify'] = await measure('signin', async (k) => {
  const ready = [];
  for (let i = 0; i < k; i++) {
    const options = (await ok('POST', '/auth/passkey/options')).data;
    ready.push(passkey.assert(options.challenge, origin, rpId, userHandle));
  }
  return ready;
}, async (credential) => {
  const answer = await call('POST', '/auth/passkey/verify', {credential});
  if (answer.status !== 200) throw new Error(`passkey sign-in: ${answer.status} ${JSON.stringify(answer.body)}`);
});
results['auth/passkey/options'] = await measure('options', async (k) => Array.from({length: k}), async () => {
  await ok('POST', '/auth/passkey/options');
});
for (const [name, instructions] of Object.entries(results)) {
  console.log(`${label} ${name}: ${instructions.toLocaleString('en-US')} instructions/request`);
}
