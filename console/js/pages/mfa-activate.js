// `/console/mfa-activate#token=...`, the e-mail that turns sign-in links on for an account
// (POST /mfa/magic-link/activate; public: the link may be opened in any browser).
import {h} from '../dom.js';
import {api, hasSession} from '../api.js';
import {href} from '../router.js';
import {errorBox} from '../ui.js';

export const title = 'Sign-in links';
export const access = 'public';

export async function render(ctx) {
  const token = ctx.fragment.get('token');
  const back = ctx.user || hasSession()
    ? h('a', {href: href('/account/security')}, 'Back to your account’s security')
    : h('a', {href: href('/signin')}, 'Sign in');
  if (!token) {
    return h('div', {class: 'narrow stack'}, errorBox(new Error('This page opens from the link in the activation e-mail: its token is missing.')), h('p', {class: 'aside'}, back));
  }
  try {
    const answer = await api.post('/mfa/magic-link/activate', {token}, {retry: false});
    return h('div', {class: 'narrow stack'},
      h('p', {class: 'success', role: 'status'}, answer.message || 'Magic link MFA activated successfully'),
      h('p', {}, 'From now on you can finish signing in with a link we e-mail you.'),
      h('p', {class: 'aside'}, back));
  } catch (error) {
    return h('div', {class: 'narrow stack'}, errorBox(error),
      h('p', {}, 'The link works once, for 10 minutes. Ask for a new one from your account’s security page.'),
      h('p', {class: 'aside'}, back));
  }
}
