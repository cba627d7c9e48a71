// The API from a journey (Node's fetch), for what a journey sets up rather than shows: a
// verified account, a TOTP enrolment. And RFC 6238 codes from a base32 secret.
import crypto from 'node:crypto';
import {linkIn} from './smtp.mjs';

/** Calls `method path` on `server` with an optional token and JSON body; resolves to {status, body}. */
export async function call(server, method, path, {token = null, body = undefined} = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${server.base}${path}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  return {status: response.status, body: await response.json().catch(() => null)};
}

async function ok(server, method, path, options, status = [200, 201]) {
  const answer = await call(server, method, path, options);
  if (!status.includes(answer.status)) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * Registers an OWNER of a new organization, verifies the address through the e-mailed link's
 * token and signs in; resolves to the login's answer (accessToken, refreshToken, user).
 */
export async function verifiedOwner(server, smtp, {email, password = 'Secret123', firstName = 'Test', lastName = 'Person', companyName = 'Test Org'}) {
  await ok(server, 'POST', '/user/register', {body: {email, password, firstName, lastName, companyName, isBusiness: true}});
  const link = linkIn(await smtp.waitFor(email, /Verification token/));
  const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token');
  await ok(server, 'POST', '/user/verify-email', {body: {token}});
  return ok(server, 'POST', '/user/login', {body: {email, password}});
}

/** Enrols TOTP for the signed-in `token`'s user; resolves to the secret and backup codes. */
export async function enrolTotp(server, token) {
  const setup = await ok(server, 'POST', '/mfa/setup', {token, body: {mfaType: 'GOOGLE_AUTH'}});
  const {secret, backupCodes} = setup.data;
  await ok(server, 'POST', '/mfa/verify-setup', {token, body: {mfaType: 'GOOGLE_AUTH', code: totp(secret)}});
  return {secret, backupCodes};
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/[=\s]/g, '').toUpperCase()) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of `secret` at `time` (ms), `offset` steps away. */
export function totp(secret, time = Date.now(), offset = 0) {
  const step = BigInt(Math.floor(time / 30000) + offset);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(step);
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(at) & 0x7fffffff) % 1000000;
  return String(number).padStart(6, '0');
}
