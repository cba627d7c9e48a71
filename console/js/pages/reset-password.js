// `/console/reset-password#token=...`, the reset e-mail's link: a new password
// (POST /user/reset-password). The reset ends every session of the account, this tab's too.
import {h} from '../dom.js';
import {api, endSession} from '../api.js';
import {href} from '../router.js';
import {form, errorBox} from '../ui.js';
import {forgetUser} from '../session.js';
import {PASSWORD_HELP} from './signup.js';

export const title = 'Choose a new password';
export const access = 'public';

export function render(ctx) {
  const token = ctx.fragment.get('token');
  if (!token) {
    return h('div', {class: 'narrow stack'},
      errorBox(new Error('This page opens from the link in the password reset e-mail: its token is missing.')),
      h('p', {class: 'aside'}, h('a', {href: href('/forgot-password')}, 'Ask for a new link')));
  }
  const box = h('div', {class: 'narrow'});
  const reset = form({
    submit: 'Set the new password',
    fields: [
      {name: 'newPassword', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', help: PASSWORD_HELP},
      {name: 'repeat', label: 'Repeat the new password', type: 'password', required: true, autocomplete: 'new-password'},
    ],
    onSubmit: async ({newPassword, repeat}) => {
      if (newPassword !== repeat) throw new Error('The two passwords differ.');
      await api.post('/user/reset-password', {token, newPassword}, {retry: false});
      endSession();
      forgetUser();
      box.replaceChildren(
        h('p', {class: 'success', role: 'status'}, 'Your password is changed. Every session of your account was signed out.'),
        h('p', {}, h('a', {class: 'button primary', href: href('/signin')}, 'Sign in')));
    },
  });
  reset.inputs.newPassword.setAttribute('autofocus', '');
  box.append(reset, h('p', {class: 'aside'}, 'The link works once. ', h('a', {href: href('/forgot-password')}, 'Ask for a new one')));
  return box;
}
