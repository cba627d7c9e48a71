// The workspaces the person can see (GET /workspace, 20 a page, by name), and creating one
// (POST /workspace) for roles that may.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form, table, card, loading, errorBox, notice} from '../ui.js';
import {canCreateWorkspaces} from '../session.js';

export const title = 'Workspaces';
export const access = 'user';

const PAGE = 20;

export async function render(ctx) {
  const list = h('div', {}, loading());
  const cursors = [null];
  let at = 0;

  async function load() {
    replace(list, loading());
    try {
      const cursor = cursors[at];
      const query = `/workspace?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const answer = await api.get(query);
      if (answer.nextCursor) cursors[at + 1] = answer.nextCursor;
      const rows = answer.workspaces || answer.data || [];
      replace(list,
        table({
          caption: 'Workspaces',
          columns: [
            {label: 'Name', value: (w) => h('a', {href: href(`/workspaces/${w.id}`)}, w.name)},
            {label: 'Members', value: (w) => String((w.users || []).length)},
          ],
          rows,
          empty: canCreateWorkspaces(ctx.user) ? 'No workspaces yet: create the first one below.' : 'You are not a member of any workspace yet.',
        }),
        (at > 0 || answer.nextCursor) ? h('nav', {class: 'pager', 'aria-label': 'Pages'},
          h('button', {type: 'button', class: 'secondary', disabled: at === 0, onclick: () => { at -= 1; load(); }}, 'Previous'),
          h('span', {}, `Page ${at + 1}`),
          h('button', {type: 'button', class: 'secondary', disabled: !answer.nextCursor, onclick: () => { at += 1; load(); }}, 'Next')) : null);
    } catch (error) {
      replace(list, errorBox(error));
    }
  }

  const create = canCreateWorkspaces(ctx.user) ? card('Create a workspace', form({
    submit: 'Create workspace',
    fields: [{name: 'name', label: 'Workspace name', required: true, maxlength: 100}],
    onSubmit: async ({name}, element) => {
      const answer = await api.post('/workspace', {name});
      element.reset();
      notice(`Workspace “${answer.workspace.name}” created.`);
      at = 0;
      await load();
    },
  })) : null;

  await load();
  return h('div', {class: 'stack'}, ctx.query.get('welcome') ? h('p', {class: 'banner'}, 'Welcome! Check your mailbox for the link that verifies your address.') : null, list, create);
}
