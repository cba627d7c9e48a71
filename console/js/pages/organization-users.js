// The organization's users (WORKSPACES and above): the list (GET /organization/users), inviting
// someone (POST /organization/users: the invitation e-mail's link lets them choose a password),
// changing a role (PUT /user/{userId}/role), deleting (DELETE /organization/users/{userId}),
// restoring (POST .../activate) and sending the invitation again (POST .../resend-invitation).
// Only the actions the contract's role rules allow are offered (section 2); the server decides.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form, table, card, loading, errorBox, notice, confirmDialog} from '../ui.js';
import {ROLES, roleName, canManageUsers} from '../session.js';

export const title = 'Users';
export const access = 'user';

const OWNER = 255;

/** May `me` act on a user whose role is `role`? (Below one's own; owners act on owners.) */
function canManage(me, role) {
  return canManageUsers(me) && (role < me.orgRole || me.orgRole === OWNER);
}

/** The roles `me` may grant: at or below their own. */
function grantable(me) {
  return ROLES.filter((r) => r.value <= me.orgRole);
}

function fullName(user) {
  return [user.name, user.lastName].filter(Boolean).join(' ') || user.email;
}

function statusOf(user) {
  if (user.deletedAt) return h('span', {class: 'badge danger'}, 'Deleted');
  if (!user.validated) return h('span', {class: 'badge warning'}, 'Invitation pending');
  return h('span', {class: 'badge success'}, 'Active');
}

function notAllowed(ctx) {
  return h('div', {class: 'stack'},
    card('You cannot manage users',
      h('p', {}, `Your role is ${roleName(ctx.user.orgRole)}. Inviting people and changing their roles needs the WORKSPACES role or higher.`),
      h('p', {}, 'Ask an owner or an administrator of your organization if you need this.'),
      h('p', {}, h('a', {href: href('/organization')}, 'Back to the organization'))));
}

export async function render(ctx) {
  const me = ctx.user;
  if (!canManageUsers(me)) return notAllowed(ctx);

  const listAlert = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const list = h('div', {}, loading());
  const count = h('span', {class: 'muted'});
  let showDeleted = false;
  let users = [];

  const fail = (error) => {
    replace(listAlert, error.message || String(error));
    listAlert.hidden = false;
    listAlert.scrollIntoView({block: 'nearest'});
  };

  /** Runs a row action: errors go to the list's alert, success reloads the list. */
  async function act(control, action) {
    listAlert.hidden = true;
    control.disabled = true;
    try {
      const message = await action();
      if (message === false) return;
      await load();
      if (message) notice(message);
    } catch (error) {
      fail(error);
    } finally {
      control.disabled = false;
    }
  }

  function actionsFor(user) {
    const who = fullName(user);
    const path = `/organization/users/${encodeURIComponent(user.id)}`;
    if (user.id === me.id) return h('span', {class: 'muted'}, 'You');
    if (!canManage(me, user.orgRole)) return h('span', {class: 'muted'}, '—');
    if (user.deletedAt) {
      const restore = h('button', {type: 'button', class: 'secondary small', 'aria-label': `Restore ${who}`}, 'Restore');
      restore.addEventListener('click', () => act(restore, async () => {
        const answer = await api.post(`${path}/activate`);
        return answer.message || `${who} restored.`;
      }));
      return h('div', {class: 'row-actions'}, restore);
    }
    const select = h('select', {'aria-label': `Role of ${who}`},
      grantable(me).map((r) => h('option', {value: r.value, selected: r.value === user.orgRole}, r.name)));
    const save = h('button', {type: 'button', class: 'secondary small', 'aria-label': `Change role of ${who}`}, 'Change role');
    save.addEventListener('click', () => act(save, async () => {
      const orgRole = Number(select.value);
      if (orgRole === user.orgRole) return `${who} already has the role ${roleName(orgRole)}.`;
      await api.put(`/user/${encodeURIComponent(user.id)}/role`, {orgRole});
      return `${who} is now ${roleName(orgRole)}.`;
    }));
    const remove = h('button', {type: 'button', class: 'danger small', 'aria-label': `Delete ${who}`}, 'Delete');
    remove.addEventListener('click', () => act(remove, async () => {
      const sure = await confirmDialog(`Delete ${who} (${user.email})? Their sessions end at once and they can no longer sign in. You can restore the account later.`, 'Delete user');
      if (!sure) return false;
      const answer = await api.delete(path);
      return answer.message || `${who} deleted.`;
    }));
    let resend = null;
    if (!user.validated) {
      resend = h('button', {type: 'button', class: 'secondary small', 'aria-label': `Resend the invitation to ${who}`}, 'Resend invitation');
      resend.addEventListener('click', () => act(resend, async () => {
        const answer = await api.post(`${path}/resend-invitation`);
        return answer.message || `Invitation sent again to ${user.email}.`;
      }));
    }
    return h('div', {class: 'row-actions'}, select, save, resend, remove);
  }

  function draw() {
    const shown = users.filter((u) => showDeleted || !u.deletedAt);
    const deleted = users.filter((u) => u.deletedAt).length;
    replace(count, `${users.length - deleted} active${deleted ? `, ${deleted} deleted` : ''}`);
    const rows = table({
      caption: 'Users of the organization',
      columns: [
        {label: 'Name', value: (u) => h('div', {class: 'name-cell'}, h('span', {}, fullName(u), u.id === me.id ? ' (you)' : ''), h('span', {class: 'muted'}, u.email))},
        {label: 'Role', value: (u) => roleName(u.orgRole)},
        {label: 'Status', value: statusOf},
        {label: 'Actions', class: 'actions', value: actionsFor},
      ],
      rows: shown,
      empty: showDeleted || deleted === 0 ? 'No users yet: invite the first one below.' : 'No active users.',
    });
    // Deleted users' rows are greyed out.
    rows.querySelectorAll('tbody tr').forEach((tr, i) => { if (shown[i] && shown[i].deletedAt) tr.classList.add('is-deleted'); });
    replace(list, rows);
  }

  async function load() {
    try {
      const answer = await api.get('/organization/users');
      users = answer.data || [];
      draw();
    } catch (error) {
      replace(list, errorBox(error));
    }
  }

  const toggleId = 'show-deleted-users';
  const toggle = h('input', {type: 'checkbox', id: toggleId, onchange: (event) => { showDeleted = event.target.checked; draw(); }});

  const invite = form({
    submit: 'Invite user',
    fields: [
      {name: 'email', label: 'Email', type: 'email', required: true, autocomplete: 'off'},
      {name: 'firstName', label: 'First name', required: true},
      {name: 'lastName', label: 'Last name', required: true},
      {name: 'orgRole', label: 'Role', type: 'select', value: 0, options: grantable(me).map((r) => ({value: r.value, label: r.name}))},
      {name: 'sendInvite', label: 'Send the invitation now', type: 'checkbox', value: true},
    ],
    onSubmit: async (values, element) => {
      const body = {
        email: values.email.trim(),
        firstName: values.firstName.trim(),
        lastName: values.lastName.trim(),
        orgRole: Number(values.orgRole),
        sendInvite: values.sendInvite,
      };
      const answer = await api.post('/organization/users', body);
      element.reset();
      await load();
      notice(body.sendInvite
        ? `Invitation sent to ${body.email}.`
        : `${answer.data ? fullName(answer.data) : body.email} added. Send the invitation from the list when they should join.`);
    },
  });
  invite.classList.add('columns');

  await load();
  return h('div', {class: 'stack'},
    h('p', {class: 'intro'}, h('a', {href: href('/organization')}, '← Organization')),
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'People'), count),
      h('div', {class: 'field checkbox'}, toggle, h('label', {for: toggleId}, 'Show deleted users')),
      listAlert,
      list),
    card('Invite someone',
      h('p', {class: 'intro'}, 'They receive an e-mail with a link to choose their password and join the organization. You can give roles up to your own.'),
      invite));
}
