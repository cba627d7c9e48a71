// Activation links (contract section 13), for instance administrators: invitations for one
// address to register a new organization. List (GET /links), create (POST /links, e-mailed),
// edit the description or address (PUT /links/{id}), delete (DELETE /links/{id}), and the link
// itself in a read-only field to copy.
import {h, replace, when} from '../dom.js';
import {api} from '../api.js';
import {form, table, card, pager, button, confirmDialog, notice, errorBox, loading, emptyState} from '../ui.js';
import {isInstanceAdmin} from '../session.js';

export const title = 'Activation links';
export const access = 'user';

const TAKE = 20;
const STATUSES = [['all', 'All'], ['pending', 'Pending'], ['activated', 'Activated'], ['expired', 'Expired']];
const BADGE = {pending: 'badge', activated: 'badge ok', expired: 'badge muted'};

let copyCounter = 0;

/** The link in a read-only field with a Copy button (the clipboard when the browser allows it; the field's text is selected either way). */
export function copyField(link, label = 'Activation link') {
  const id = `copy-${++copyCounter}`;
  const input = h('input', {id, type: 'text', readonly: true, value: link, class: 'copy-input', spellcheck: 'false'});
  input.addEventListener('focus', () => input.select());
  const said = h('span', {class: 'muted', role: 'status'});
  const copy = button('Copy', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(link);
      replace(said, 'Copied.');
    } catch {
      replace(said, 'Selected: press Ctrl+C (⌘C) to copy.');
    }
  }, {kind: 'secondary'});
  return h('div', {class: 'field copy-field'},
    h('label', {for: id}, label),
    h('div', {class: 'copy-row'}, input, copy),
    said);
}

export async function render(ctx) {
  if (!isInstanceAdmin(ctx.user)) {
    return h('div', {class: 'stack'}, emptyState('Activation links are for the administrators of this server.'));
  }
  const state = {status: 'all', text: '', skip: 0};
  const panel = h('div', {});
  const listArea = h('div', {}, loading());

  async function load() {
    const params = new URLSearchParams({take: String(TAKE), skip: String(state.skip), status: state.status});
    if (state.text) params.set('text', state.text);
    const answer = await api.get(`/links?${params}`);
    replace(listArea,
      table({
        caption: 'Activation links',
        columns: [
          {label: 'Email', value: (l) => l.email},
          {label: 'Description', value: (l) => l.description || '—'},
          {label: 'Status', value: (l) => h('span', {class: BADGE[l.status] || 'badge'}, l.status)},
          {label: 'Created', value: (l) => h('span', {}, when(l.createdAt), l.creator ? h('small', {class: 'muted block'}, `by ${l.creator.email}`) : null)},
          {label: 'Expires', value: (l) => (l.activatedAt ? `Used ${when(l.activatedAt)}` : when(l.expiresAt))},
          {label: 'Actions', class: 'actions', value: (l) => h('span', {class: 'actions'},
            l.status === 'pending' ? button('Copy link', async () => showLink(l), {kind: 'secondary small'}) : null,
            l.status !== 'activated' ? button('Edit', async () => showEdit(l), {kind: 'secondary small'}) : null,
            button('Delete', async () => {
              if (!await confirmDialog(`Delete the activation link for ${l.email}? It stops working at once.`, 'Delete link')) return;
              await api.delete(`/links/${encodeURIComponent(l.id)}`);
              notice(`The link for ${l.email} is deleted.`);
              replace(panel);
              await load();
            }, {kind: 'secondary small'}))},
        ],
        rows: answer.links || [],
        empty: state.status === 'all' && !state.text ? 'No activation links yet: create the first one above.' : 'No links match.',
      }),
      answer.total > TAKE ? pager({skip: state.skip, take: TAKE, total: answer.total, onPage: (skip) => { state.skip = skip; load().catch((e) => replace(listArea, errorBox(e))); }}) : null);
  }

  function closeButton() {
    return h('button', {type: 'button', class: 'link', onclick: () => replace(panel)}, 'Close');
  }

  function showLink(link) {
    const field = copyField(link.activationLink, `Activation link for ${link.email}`);
    replace(panel, h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'Activation link'), closeButton()),
      h('p', {class: 'muted'}, `Whoever opens it can register a new organization as ${link.email}, until ${when(link.expiresAt)}.`),
      field));
    field.querySelector('input').focus();
  }

  function showEdit(link) {
    const edit = form({
      submit: 'Save changes',
      fields: [
        {name: 'email', label: 'Email', type: 'email', required: true, value: link.email, help: 'A new address gets the link by e-mail.'},
        {name: 'description', label: 'Description', type: 'textarea', rows: 2, value: link.description || '', maxlength: 500},
      ],
      onSubmit: async ({email, description}) => {
        const body = {description};
        if (email !== link.email) body.email = email;
        await api.put(`/links/${encodeURIComponent(link.id)}`, body);
        notice('Link updated.');
        replace(panel);
        await load();
      },
    });
    replace(panel, h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, `Edit the link for ${link.email}`), closeButton()),
      edit));
    edit.inputs.email.focus();
  }

  const create = form({
    submit: 'Create link',
    fields: [
      {name: 'email', label: 'Email', type: 'email', required: true, help: 'Who may register with it. We e-mail them the link.'},
      {name: 'name', label: 'Their name (optional)', autocomplete: 'off'},
      {name: 'description', label: 'Description (optional)', type: 'textarea', rows: 2, maxlength: 500},
    ],
    onSubmit: async ({email, name, description}, element) => {
      const body = {email};
      if (name.trim()) body.name = name.trim();
      if (description.trim()) body.description = description.trim();
      const answer = await api.post('/links', body);
      element.reset();
      notice(`Link created and e-mailed to ${answer.link.email}.`);
      showLink(answer.link);
      state.skip = 0;
      await load();
    },
  });

  const search = form({
    submit: 'Search',
    kind: 'secondary',
    fields: [
      {name: 'status', label: 'Status', type: 'select', value: state.status, options: STATUSES.map(([value, label]) => ({value, label}))},
      {name: 'text', label: 'Email or description contains'},
    ],
    onSubmit: async ({status, text}) => {
      state.status = status;
      state.text = text.trim();
      state.skip = 0;
      await load();
    },
  });
  search.classList.add('filters');

  try {
    await load();
  } catch (error) {
    replace(listArea, errorBox(error));
  }
  return h('div', {class: 'stack'},
    h('p', {class: 'muted'}, 'An activation link lets one address register a new organization on this server, also when registration is invite-only. Links expire; the token is never stored.'),
    card('Create a link', create),
    panel,
    card('Find links', search),
    listArea);
}
