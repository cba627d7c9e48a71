// Passkeys in the browser (contract section 14): the options the API gives, with their binary
// fields as base64url text, become what navigator.credentials.create/get take (ArrayBuffers),
// and the credential the browser answers becomes WebAuthn's JSON form again for the API. No
// library: the two conversions and the field lists are all there is.

/** Whether this browser can use passkeys at all (a secure context with WebAuthn). */
export function passkeysSupported() {
  return Boolean(window.isSecureContext && window.PublicKeyCredential && navigator.credentials);
}

/** base64url (no padding) text to an ArrayBuffer. */
export function fromBase64url(text) {
  const base64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return bytes.buffer;
}

/** An ArrayBuffer (or view) to base64url text without padding. */
export function toBase64url(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const credentialDescriptor = (d) => ({type: d.type || 'public-key', id: fromBase64url(d.id), transports: d.transports && d.transports.length ? d.transports : undefined});

/** The browser's cancel, timeout or refusal, said for people. */
function explained(error) {
  if (error && (error.name === 'NotAllowedError' || error.name === 'AbortError')) {
    return new Error('The passkey request was cancelled or timed out. Try again when you are ready.');
  }
  if (error && error.name === 'InvalidStateError') {
    return new Error('This device already holds a passkey for your account.');
  }
  return error;
}

/**
 * Creates a passkey with `options` (`PublicKeyCredentialCreationOptions` as the API's
 * `POST /mfa/setup` gives them); resolves to the credential as JSON for complete-registration.
 */
export async function createPasskey(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: {...options.user, id: fromBase64url(options.user.id)},
    excludeCredentials: (options.excludeCredentials || []).map(credentialDescriptor),
  };
  let credential;
  try {
    credential = await navigator.credentials.create({publicKey});
  } catch (error) {
    throw explained(error);
  }
  const response = credential.response;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
    },
    clientExtensionResults: {},
  };
}

/**
 * Asks for a passkey's assertion of `options` (`{challenge, rpId, userVerification, timeout,
 * allowCredentials}` as `POST /auth/passkey/options` and `POST /mfa/passkey/auth-options`
 * give them); resolves to the credential as JSON for the API.
 */
export async function getPasskey(options) {
  const publicKey = {
    challenge: fromBase64url(options.challenge),
    rpId: options.rpId,
    userVerification: options.userVerification || 'preferred',
    timeout: options.timeout,
    allowCredentials: (options.allowCredentials || []).map(credentialDescriptor),
  };
  let credential;
  try {
    credential = await navigator.credentials.get({publicKey});
  } catch (error) {
    throw explained(error);
  }
  const response = credential.response;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
    },
    clientExtensionResults: {},
  };
}
