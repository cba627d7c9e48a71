// Forgot password: asks for the address (POST /user/request-reset-password). The API answers the
// same whether or not an account uses it (no account enumeration), and so does this page.
import {h} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form} from '../ui.js';

export const title = 'Forgot your password?';
export const access = 'guest';

export function render() {
  const box = h('div', {class: 'narrow'});
  const ask = form({
    submit: 'Send the link',
    fields: [{name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'username'}],
    onSubmit: async ({email}) => {
      await api.post('/user/request-reset-password', {email}, {retry: false});
      box.replaceChildren(
        h('p', {class: 'success', role: 'status'},
          'If an account uses this address, we sent it a link to choose a new password. It works once, for a short time.'),
        h('p', {class: 'aside'}, h('a', {href: href('/signin')}, 'Back to sign in')));
    },
  });
  ask.inputs.email.setAttribute('autofocus', '');
  box.append(
    h('p', {}, 'Give the address you sign in with: we will e-mail you a link to choose a new password.'),
    ask,
    h('p', {class: 'aside'}, h('a', {href: href('/signin')}, 'Back to sign in')));
  return box;
}
