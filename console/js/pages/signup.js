// Create an account (POST /user/register): a new organization and its OWNER. The verification
// e-mail's link opens /console/verify.
import {h} from '../dom.js';
import {api, startSession} from '../api.js';
import {href} from '../router.js';
import {form} from '../ui.js';
import {forgetUser} from '../session.js';

export const title = 'Create an account';
export const access = 'guest';

export const PASSWORD_HELP = 'At least 8 characters, with an upper-case letter, a lower-case letter and a digit.';

/** The fields of a registration (shared with the activation-link page). */
export function registrationFields({email = '', emailLocked = false} = {}) {
  return [
    {name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'email', value: email},
    {name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', help: PASSWORD_HELP},
    {name: 'firstName', label: 'First name', required: true, autocomplete: 'given-name'},
    {name: 'lastName', label: 'Last name', required: true, autocomplete: 'family-name'},
    {name: 'companyName', label: 'Company name', autocomplete: 'organization', help: 'Leave empty for a personal account, named after you.'},
  ].map((f) => (f.name === 'email' && emailLocked ? {...f, readonly: true} : f));
}

export function registrationBody(values) {
  const body = {email: values.email, password: values.password, firstName: values.firstName, lastName: values.lastName, isBusiness: Boolean(values.companyName)};
  if (values.companyName) body.companyName = values.companyName;
  return body;
}

export function render(ctx) {
  const signUp = form({
    submit: 'Sign up',
    fields: registrationFields(),
    onSubmit: async (values) => {
      const answer = await api.post('/user/register', registrationBody(values), {retry: false});
      startSession(answer);
      forgetUser();
      ctx.navigate('/workspaces?welcome=1', {replace: true});
    },
  });
  signUp.inputs.email.setAttribute('autofocus', '');
  return h('div', {class: 'narrow'},
    signUp,
    h('p', {class: 'aside'}, 'Already have an account? ', h('a', {href: href('/signin')}, 'Sign in')));
}

