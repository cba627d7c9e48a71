// One workspace (GET /workspace/{id}) and its members. The workspace's ADMINs (a member with role
// ADMIN, or an organization OWNER/ADMINISTRATORS, who act as ADMIN everywhere) also see: rename
// (PUT /workspace/{id}), members (add from the organization's users, change role, remove:
// /workspace/{id}/users...) and delete (DELETE /workspace/{id}). The server decides each call.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form, table, card, button, confirmDialog, notice, errorBox, loading} from '../ui.js';
import {canManageUsers, isOrgAdmin, roleName} from '../session.js';

export const title = 'Workspace';
export const access = 'user';

export const WORKSPACE_ROLES = ['READ', 'WRITE', 'ADMIN'];
const ROLE_HELP = {READ: 'sees the workspace', WRITE: 'works in it', ADMIN: 'manages it and its members'};

const fullName = (u) => [u && u.name, u && u.lastName].filter(Boolean).join(' ') || (u && u.email) || '';

export async function render(ctx) {
  const id = ctx.params.id;
  const root = h('div', {class: 'stack'}, loading());

  async function load() {
    const answer = await api.get(`/workspace/${encodeURIComponent(id)}`);
    draw(answer.workspace);
  }

  function draw(workspace) {
    const members = workspace.users || [];
    const mine = members.find((m) => m.userId === ctx.user.id);
    const admin = isOrgAdmin(ctx.user) || (mine && mine.role === 'ADMIN');
    const yourAccess = mine ? mine.role : (isOrgAdmin(ctx.user) ? `ADMIN (as ${roleName(ctx.user.orgRole)} of the organization)` : '—');

    const summary = h('section', {class: 'card workspace-head'},
      h('div', {},
        h('h2', {class: 'workspace-name'}, workspace.name),
        h('dl', {class: 'facts'},
          h('div', {}, h('dt', {}, 'Your access'), h('dd', {}, yourAccess)),
          h('div', {}, h('dt', {}, 'Members'), h('dd', {}, String(members.length))),
          h('div', {}, h('dt', {}, 'ID'), h('dd', {}, h('code', {}, workspace.id))))),
      h('div', {class: 'actions'},
        h('a', {class: 'button secondary', href: href(`/audit?workspaceId=${encodeURIComponent(workspace.id)}`)}, 'Audit trail of this workspace')));

    const columns = [
      {label: 'Name', value: (m) => fullName(m.user)},
      {label: 'Email', value: (m) => (m.user && m.user.email) || ''},
      {label: 'Role', value: (m) => (admin ? roleControl(workspace, m) : h('span', {class: 'badge'}, m.role))},
    ];
    if (admin) {
      columns.push({label: 'Actions', class: 'actions', value: (m) => button(`Remove`, async () => {
        const who = fullName(m.user);
        if (!await confirmDialog(`Remove ${who} from “${workspace.name}”?`, 'Remove member')) return;
        await api.delete(`/workspace/${encodeURIComponent(workspace.id)}/users/${encodeURIComponent(m.userId)}`);
        notice(`${who} removed.`);
        await load();
      }, {kind: 'secondary small', title: `Remove ${fullName(m.user)}`})});
    }
    const membersCard = card('Members', table({
      caption: `Members of ${workspace.name}`,
      columns,
      rows: [...members].sort((a, b) => fullName(a.user).localeCompare(fullName(b.user))),
      empty: 'No members.',
    }));

    const parts = [summary, membersCard];
    if (admin) {
      parts.push(addMember(workspace, members));
      parts.push(card('Rename', renameForm(workspace)));
      parts.push(h('section', {class: 'card danger-zone'},
        h('h2', {}, 'Delete this workspace'),
        h('p', {}, 'Deleting hides the workspace everywhere and frees its name; its rows stay in the database, marked deleted.'),
        h('div', {class: 'actions'}, button('Delete workspace', async () => {
          if (!await confirmDialog(`Delete the workspace “${workspace.name}”?`, 'Delete workspace')) return;
          await api.delete(`/workspace/${encodeURIComponent(workspace.id)}`);
          notice(`Workspace “${workspace.name}” deleted.`);
          ctx.navigate('/workspaces');
        }, {kind: 'danger'}))));
    }
    parts.push(h('p', {}, h('a', {href: href('/workspaces')}, '← All workspaces')));
    replace(root, parts);
  }

  /** A member's role: a select and its own button (keyboard users change it without firing a call per arrow key). */
  function roleControl(workspace, member) {
    const who = fullName(member.user);
    const select = h('select', {'aria-label': `Role of ${who}`},
      WORKSPACE_ROLES.map((r) => h('option', {value: r, selected: r === member.role}, r)));
    const save = button('Change', async () => {
      if (select.value === member.role) return;
      try {
        await api.put(`/workspace/${encodeURIComponent(workspace.id)}/users/${encodeURIComponent(member.userId)}`, {role: select.value});
      } catch (error) {
        select.value = member.role;
        throw error;
      }
      notice(`${who} is now ${select.value}.`);
      await load();
    }, {kind: 'secondary small', title: `Change the role of ${who}`});
    return h('span', {class: 'role-control'}, select, save);
  }

  function renameForm(workspace) {
    return form({
      submit: 'Rename',
      fields: [{name: 'name', label: 'Workspace name', required: true, maxlength: 100, value: workspace.name}],
      onSubmit: async ({name}) => {
        const answer = await api.put(`/workspace/${encodeURIComponent(workspace.id)}`, {name});
        notice(`Renamed to “${answer.workspace.name}”.`);
        await load();
      },
    });
  }

  /** Add a member: chosen among the organization's users when the caller may list them, else by user ID. */
  function addMember(workspace, members) {
    const area = h('div', {}, loading());
    const section = card('Add a member', area);
    const roleField = {name: 'role', label: 'Role', type: 'select', value: 'READ',
      options: WORKSPACE_ROLES.map((r) => ({value: r, label: `${r}: ${ROLE_HELP[r]}`}))};
    const submit = async ({userId, role}) => {
      if (!userId) throw new Error('Choose a person to add.');
      await api.post(`/workspace/${encodeURIComponent(workspace.id)}/users`, {userId: userId.trim(), role});
      notice('Member added.');
      await load();
    };
    const byId = () => form({
      submit: 'Add member',
      fields: [{name: 'userId', label: 'User ID', required: true, help: 'The ID of a user of your organization.'}, roleField],
      onSubmit: submit,
    });
    (async () => {
      if (!canManageUsers(ctx.user)) {
        replace(area, byId());
        return;
      }
      try {
        const answer = await api.get('/organization/users');
        const taken = new Set(members.map((m) => m.userId));
        const candidates = (answer.data || []).filter((u) => !u.deletedAt && !taken.has(u.id));
        if (candidates.length === 0) {
          replace(area, h('p', {class: 'muted'}, 'Everyone in your organization is already a member. ',
            h('a', {href: href('/organization/users')}, 'Add users to the organization')));
          return;
        }
        replace(area, form({
          submit: 'Add member',
          fields: [
            {name: 'userId', label: 'Person', type: 'select', required: true,
              options: candidates.map((u) => ({value: u.id, label: `${fullName(u)} <${u.email}>${u.validated ? '' : ' (not verified yet)'}`}))},
            roleField,
          ],
          onSubmit: submit,
        }));
      } catch (error) {
        replace(area, errorBox(error), byId());
      }
    })();
    return section;
  }

  await load();
  return root;
}
