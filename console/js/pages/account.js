// The signed-in person's account: names (PUT /user/{id} {name, lastName}), password
// (PUT /user/{id} {password, currentPassword}: a session older than 10 minutes must give the
// current one), personal settings (GET and POST /settings/user), links to two-step sign-in and
// to sessions, and deactivating the account (POST /user/deactivate).
import {h} from '../dom.js';
import {api, endSession} from '../api.js';
import {href} from '../router.js';
import {form, card, notice, confirmDialog} from '../ui.js';
import {currentUser, forgetUser, roleName} from '../session.js';
import {PASSWORD_HELP} from './signup.js';
import {settingsEditor} from './settings-editor.js';

export const title = 'Account';
export const access = 'user';

function profileCard(ctx) {
  const user = ctx.user;
  const names = form({
    submit: 'Save names',
    fields: [
      {name: 'name', label: 'First name', required: true, autocomplete: 'given-name', value: user.name || ''},
      {name: 'lastName', label: 'Last name', required: true, autocomplete: 'family-name', value: user.lastName || ''},
    ],
    onSubmit: async (values) => {
      const body = {name: values.name.trim(), lastName: values.lastName.trim()};
      if (body.name === user.name && body.lastName === user.lastName) {
        notice('Nothing to save: your names did not change.');
        return;
      }
      const answer = await api.put(`/user/${encodeURIComponent(user.id)}`, body);
      await currentUser({reload: true});
      // Draw the page again so the header shows the new name, then say so.
      await ctx.redraw();
      notice(answer.message || 'Your names were saved.');
    },
  });
  names.classList.add('columns');
  return card('Profile',
    h('dl', {class: 'fact-list'},
      h('dt', {}, 'Email'), h('dd', {}, user.email),
      h('dt', {}, 'Role'), h('dd', {}, roleName(user.orgRole), ' · ', h('a', {href: href('/organization')}, 'Organization')),
      h('dt', {}, 'E-mail verified'), h('dd', {}, user.validated ? 'Yes' : 'Not yet: open the link in the verification e-mail')),
    names);
}

function passwordCard(ctx) {
  const user = ctx.user;
  const change = form({
    submit: 'Change password',
    fields: [
      {name: 'currentPassword', label: 'Current password', type: 'password', autocomplete: 'current-password',
        help: 'Needed when you signed in more than 10 minutes ago.'},
      {name: 'password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', help: PASSWORD_HELP},
      {name: 'confirm', label: 'New password again', type: 'password', required: true, autocomplete: 'new-password'},
    ],
    onSubmit: async (values, element) => {
      if (values.password !== values.confirm) throw new Error('The two new passwords are not the same.');
      const body = {password: values.password};
      if (values.currentPassword) body.currentPassword = values.currentPassword;
      await api.put(`/user/${encodeURIComponent(user.id)}`, body);
      element.reset();
      notice('Your password was changed. Your other sessions were signed out.');
    },
  });
  return card('Password', change);
}

function linksCard() {
  return card('Security',
    h('ul', {class: 'link-list'},
      h('li', {}, h('a', {href: href('/account/security')}, 'Two-step sign-in'),
        h('p', {}, 'An authenticator app, passkeys, backup codes or sign-in links by e-mail.')),
      h('li', {}, h('a', {href: href('/account/sessions')}, 'Sessions and devices'),
        h('p', {}, 'Where you are signed in; sign out elsewhere; trusted devices.'))));
}

function deactivateCard(ctx) {
  const deactivate = form({
    submit: 'Deactivate account',
    kind: 'danger',
    fields: [
      {name: 'currentPassword', label: 'Your password', type: 'password', autocomplete: 'current-password',
        help: 'Needed when you signed in more than 10 minutes ago.'},
    ],
    onSubmit: async (values) => {
      const sure = await confirmDialog('Deactivate your account? You are signed out everywhere and can no longer sign in, until an administrator of your organization restores the account.', 'Deactivate account');
      if (!sure) return;
      // The official client sends no body; the password only when given.
      if (values.currentPassword) await api.post('/user/deactivate', {currentPassword: values.currentPassword});
      else await api.post('/user/deactivate');
      endSession();
      forgetUser();
      ctx.navigate('/signin', {replace: true});
    },
  });
  const section = card('Deactivate your account',
    h('p', {}, 'Your account is deleted as an administrator would delete it: every session ends and you can no longer sign in. An administrator of your organization can restore it. The last owner of an organization cannot deactivate their account.'),
    deactivate);
  section.classList.add('danger-zone');
  return section;
}

export function render(ctx) {
  return h('div', {class: 'stack'},
    profileCard(ctx),
    h('div', {class: 'grid'}, passwordCard(ctx), linksCard()),
    card('Your settings',
      h('p', {class: 'intro'}, 'Your personal preferences, as a JSON object that applications read.'),
      settingsEditor({path: '/settings/user', canWrite: true, label: 'Your settings (JSON)'})),
    deactivateCard(ctx));
}
