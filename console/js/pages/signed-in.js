// `/console/signed-in#code=CODE` (or `#error=CODE`): where the browser flow of a sign-in with an
// identity provider ends (contract section 12). The one-time code (60 s, once) is traded for the
// login answer (POST /auth/oidc/complete), which starts the session as a password sign-in does
// (to /mfa when a second factor is needed); an error of the flow is shown with a way back.
import {h} from '../dom.js';
import {api, ApiError} from '../api.js';
import {href} from '../router.js';
import {errorBox} from '../ui.js';
import {afterSignIn} from './signin.js';

export const title = 'Signing in';
export const access = 'public';

/** What each error code of the flow means for the person. */
const EXPLAINED = {
  SIGN_IN_FLOW_INVALID: 'This sign-in expired or was already used. Start it again.',
  PROVIDER_DENIED: 'The identity provider did not sign you in.',
  PROVIDER_NOT_CONFIGURED: 'Sign-in with this provider is not configured.',
  INVALID_PROVIDER_TOKEN: 'The identity provider’s answer could not be verified. Start again.',
  PROVIDER_EMAIL_UNVERIFIED: 'The identity provider has not verified your e-mail address.',
  PROVIDER_UNAVAILABLE: 'The identity provider is unavailable. Try again later.',
  REGISTRATION_INVITE_ONLY: 'There is no account for this address, and new organizations need an invitation.',
  REGISTRATION_CLOSED: 'There is no account for this address, and registration is closed.',
  USER_INACTIVE: 'This account is deactivated.',
  INVALID_TOKEN: 'This sign-in expired or was already used. Start it again.',
};

function failed(message) {
  return h('div', {class: 'narrow stack'},
    errorBox(new Error(message)),
    h('p', {}, h('a', {class: 'button primary', href: href('/signin')}, 'Back to sign in')));
}

export async function render(ctx) {
  const error = ctx.fragment.get('error');
  if (error) return failed(EXPLAINED[error] || 'The sign-in did not succeed.');
  const code = ctx.fragment.get('code');
  if (!code) return failed('This page opens at the end of a sign-in with an identity provider.');
  let answer;
  try {
    answer = await api.post('/auth/oidc/complete', {code}, {retry: false});
  } catch (caught) {
    if (caught instanceof ApiError && EXPLAINED[caught.code]) return failed(EXPLAINED[caught.code]);
    throw caught;
  }
  afterSignIn(ctx, answer, answer.returnTo);
  return document.createTextNode('');
}
