// Sign in (POST /user/login), or through an identity provider: a link per provider that
// GET /auth/providers lists, to the browser flow (/auth/oidc/{name}/start), which comes back to
// /console/signed-in. A user who needs a second factor goes on to /mfa. Or with a passkey alone
// (POST /auth/passkey/options, the browser's passkey prompt, POST /auth/passkey/verify): the
// passkey verifies its user, so that session has passed two-step sign-in already.
import {h, replace} from '../dom.js';
import {api, startSession} from '../api.js';
import {href} from '../router.js';
import {form} from '../ui.js';
import {forgetUser} from '../session.js';
import {getPasskey, passkeysSupported} from '../webauthn.js';

export const title = 'Sign in';
export const access = 'guest';

export function render(ctx) {
  const signIn = form({
    submit: 'Sign in',
    fields: [
      {name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'username'},
      {name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password'},
    ],
    onSubmit: async ({email, password}) => {
      const answer = await api.post('/user/login', {email, password, deviceInfo: deviceInfo()}, {retry: false});
      afterSignIn(ctx, answer, ctx.query.get('next'));
    },
  });
  signIn.inputs.email.setAttribute('autofocus', '');
  const providers = h('div', {class: 'stack'});
  showProviders(providers);
  return h('div', {class: 'narrow'},
    signIn,
    passkeysSupported() ? passkeySignIn(ctx) : null,
    providers,
    h('p', {class: 'aside'}, h('a', {href: href('/forgot-password')}, 'Forgot your password?')),
    h('p', {class: 'aside'}, 'New here? ', h('a', {href: href('/signup')}, 'Create an account')));
}

/**
 * Signing in with a passkey: no e-mail needed, the browser offers this site's passkeys. The
 * button is "Use a passkey", not "Sign in with a passkey": the page's "Sign in" button keeps the
 * only accessible name containing "Sign in" (contract section 16's stable name; locators that
 * match by substring would find two).
 */
function passkeySignIn(ctx) {
  // The alert is added only when there is something to say: the page's own form keeps the one
  // `.form-error` until then.
  const alert = h('p', {class: 'form-error', role: 'alert'});
  const start = h('button', {type: 'button', class: 'secondary'}, 'Use a passkey');
  start.addEventListener('click', async () => {
    alert.remove();
    start.disabled = true;
    try {
      const options = await api.post('/auth/passkey/options', undefined, {retry: false});
      const credential = await getPasskey(options.data);
      const answer = await api.post('/auth/passkey/verify', {credential, deviceInfo: deviceInfo()}, {retry: false});
      afterSignIn(ctx, answer, ctx.query.get('next'));
    } catch (error) {
      replace(alert, error.message || String(error));
      section.append(alert);
    } finally {
      start.disabled = false;
    }
  });
  const section = h('div', {class: 'stack passkey-sign-in'},
    h('p', {class: 'aside'}, 'Or sign in with a passkey, without a password'),
    h('div', {class: 'actions'}, start));
  return section;
}

/** What the sessions page shows for this sign-in: the browser, as it names itself. */
export function deviceInfo() {
  return {deviceName: 'Web console', deviceType: 'browser', platform: navigator.platform || 'web', userAgent: navigator.userAgent};
}

/**
 * Starts the session of a login answer (a password's, or a provider's from /signed-in): to /mfa
 * when it waits for a second factor, else to `next` (a console path) or the workspaces.
 */
export function afterSignIn(ctx, answer, next) {
  startSession(answer);
  forgetUser();
  if (answer.mfaRequired) {
    sessionStorage.setItem('workspaces.mfaPending', '1');
    ctx.navigate('/mfa', {replace: true});
    return;
  }
  sessionStorage.removeItem('workspaces.mfaPending');
  ctx.navigate(next && next.startsWith('/console/') ? next : '/workspaces', {replace: true});
}

/** A link per configured provider; nothing when none is, or when the list cannot be read. */
async function showProviders(into) {
  let providers = [];
  try {
    const answer = await api.get('/auth/providers', {retry: false});
    providers = Array.isArray(answer.providers) ? answer.providers : [];
  } catch {
    return;
  }
  if (providers.length === 0) return;
  const start = (name) => `/auth/oidc/${encodeURIComponent(name)}/start?return=${encodeURIComponent('/console/workspaces')}`;
  into.append(
    h('p', {class: 'aside'}, 'Or sign in with'),
    h('ul', {class: 'provider-list'},
      providers.map((p) => h('li', {}, h('a', {class: 'button secondary', href: start(p.name)}, `Sign in with ${p.displayName}`)))));
}
