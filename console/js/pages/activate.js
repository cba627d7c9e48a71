// `/console/activate#uid=ID&token=TOKEN`, an activation link (contract section 13): an
// invitation for one address to register a new organization. Checks the link (GET /links/{uid},
// its token in the Activation-Token header so it stays out of URLs; it is not spent), then the
// registration form with the invited address fixed -> POST /user/activate -> signed in.
import {h} from '../dom.js';
import {api, startSession, ApiError} from '../api.js';
import {href} from '../router.js';
import {form, errorBox} from '../ui.js';
import {forgetUser} from '../session.js';
import {registrationFields, registrationBody} from './signup.js';

export const title = 'Create your organization';
export const access = 'public';

function unusable(message) {
  return h('div', {class: 'narrow stack'},
    errorBox(new Error(message)),
    h('p', {class: 'aside'}, 'Already registered? ', h('a', {href: href('/signin')}, 'Sign in')));
}

export async function render(ctx) {
  const uid = ctx.fragment.get('uid');
  const token = ctx.fragment.get('token');
  if (!uid || !token) {
    return unusable('This page opens from the link in your invitation e-mail: part of it is missing.');
  }
  let link;
  try {
    link = await api.get(`/links/${encodeURIComponent(uid)}`, {retry: false, headers: {'Activation-Token': token}});
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return unusable(`${error.message}. Ask the person who invited you for a new link.`);
    }
    throw error;
  }
  if (link.activatedAt) {
    return unusable('This activation link was already used.');
  }
  const signUp = form({
    submit: 'Sign up',
    fields: registrationFields({email: link.email, emailLocked: true}),
    onSubmit: async (values) => {
      const answer = await api.post('/user/activate', {uid, token, registrationInfo: registrationBody({...values, email: link.email})}, {retry: false});
      startSession(answer);
      forgetUser();
      ctx.navigate('/workspaces', {replace: true});
    },
  });
  signUp.inputs.password.setAttribute('autofocus', '');
  return h('div', {class: 'narrow'},
    h('p', {}, 'You were invited to create an organization with this address. Your address counts as verified: the link reached your mailbox.'),
    signUp);
}
