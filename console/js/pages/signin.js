// Sign in (POST /user/login). A user who needs a second factor goes on to /mfa.
import {h} from '../dom.js';
import {api, startSession} from '../api.js';
import {href} from '../router.js';
import {form} from '../ui.js';
import {forgetUser} from '../session.js';

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
      startSession(answer);
      forgetUser();
      if (answer.mfaRequired) {
        sessionStorage.setItem('workspaces.mfaPending', '1');
        ctx.navigate('/mfa', {replace: true});
        return;
      }
      sessionStorage.removeItem('workspaces.mfaPending');
      const next = ctx.query.get('next');
      ctx.navigate(next && next.startsWith('/console/') ? next : '/workspaces', {replace: true});
    },
  });
  signIn.inputs.email.setAttribute('autofocus', '');
  return h('div', {class: 'narrow'},
    signIn,
    h('p', {class: 'aside'}, h('a', {href: href('/forgot-password')}, 'Forgot your password?')),
    h('p', {class: 'aside'}, 'New here? ', h('a', {href: href('/signup')}, 'Create an account')));
}

/** What the sessions page shows for this sign-in: the browser, as it names itself. */
export function deviceInfo() {
  return {deviceName: 'Web console', deviceType: 'browser', platform: navigator.platform || 'web', userAgent: navigator.userAgent};
}
