// `/console/verify#token=...`, the verification or invitation e-mail's link: checks the token
// (POST /user/pre-verify-email, which never spends it), asks for a password when the account has
// none (an invited user), then verifies (POST /user/verify-email). Verifying ends every session
// of the account, so the person signs in afterwards.
import {h} from '../dom.js';
import {api, endSession} from '../api.js';
import {href} from '../router.js';
import {form, errorBox} from '../ui.js';
import {forgetUser} from '../session.js';
import {PASSWORD_HELP} from './signup.js';

export const title = 'Verify your e-mail address';
export const access = 'public';

function verified() {
  endSession();
  forgetUser();
  return h('div', {class: 'narrow'},
    h('p', {class: 'success', role: 'status'}, 'Your e-mail address is verified.'),
    h('p', {}, h('a', {class: 'button primary', href: href('/signin')}, 'Sign in')));
}

export async function render(ctx) {
  const token = ctx.fragment.get('token');
  if (!token) {
    return errorBox(new Error('This page opens from the link in the verification e-mail: its token is missing.'));
  }
  const checked = await api.post('/user/pre-verify-email', {token}, {retry: false});
  const box = h('div', {class: 'narrow'});
  const fields = checked.hasPassword ? [] : [
    {name: 'password', label: 'Choose a password', type: 'password', required: true, autocomplete: 'new-password', help: PASSWORD_HELP},
  ];
  const verify = form({
    submit: checked.hasPassword ? 'Verify my address' : 'Set password and verify',
    fields,
    onSubmit: async (values) => {
      const body = {token};
      if (values.password) body.password = values.password;
      await api.post('/user/verify-email', body, {retry: false});
      box.replaceChildren(verified());
    },
  });
  box.append(h('p', {}, checked.hasPassword
    ? 'Confirm that this address is yours.'
    : 'Your administrator made an account for you. Choose a password to finish.'), verify);
  return box;
}
