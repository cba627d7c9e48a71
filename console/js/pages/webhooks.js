// The organization's webhooks (contract section 15), for its OWNER and ADMINISTRATORS: list
// (GET /webhooks), add (POST /webhooks: the signing secret is shown once, here), edit the address,
// events, description or on/off (PUT /webhooks/{id}), send a test delivery (POST .../test),
// rotate the secret (POST .../rotate-secret: the old one keeps signing for 24 hours), delete
// (DELETE), and each webhook's deliveries (GET .../deliveries, newest first) with a retry.
import {h, replace, when} from '../dom.js';
import {api} from '../api.js';
import {form, table, card, pager, button, confirmDialog, notice, errorBox, loading, emptyState} from '../ui.js';
import {isOrgAdmin} from '../session.js';
import {copyField} from './links.js';

export const title = 'Webhooks';
export const access = 'user';

const TAKE = 20;
const DELIVERY_STATUSES = [['', 'All'], ['pending', 'Pending'], ['delivered', 'Delivered'], ['failed', 'Failed']];
const BADGE = {pending: 'badge', delivered: 'badge ok', failed: 'badge danger'};

/** "workspace.created, user.*" -> ["workspace.created", "user.*"]; empty -> undefined (all events). */
function eventList(text) {
  const events = text.split(/[\s,]+/).map((e) => e.trim()).filter(Boolean);
  return events.length ? events : undefined;
}

const eventsText = (events) => (events && events.length ? events.join(', ') : '');

export async function render(ctx) {
  if (!isOrgAdmin(ctx.user)) {
    return h('div', {class: 'stack'}, emptyState('Only owners and administrators manage the organization’s webhooks.'));
  }
  const panel = h('div', {});
  const listArea = h('div', {}, loading());

  function closeButton() {
    return h('button', {type: 'button', class: 'link', onclick: () => replace(panel)}, 'Close');
  }

  function showSecret(hook, secret, heading) {
    const field = copyField(secret, `Signing secret for ${hook.url}`);
    replace(panel, h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, heading), closeButton()),
      h('p', {}, 'Copy the secret now: it is not shown again. The receiver checks each delivery’s ',
        h('code', {}, 'webhook-signature'), ' with it (Standard Webhooks).'),
      field));
    field.querySelector('input').focus();
  }

  async function load() {
    const answer = await api.get('/webhooks');
    const hooks = answer.webhooks || [];
    replace(listArea, table({
      caption: 'Webhooks',
      columns: [
        {label: 'URL', value: (w) => h('span', {class: 'break'}, w.url, w.description ? h('small', {class: 'muted block'}, w.description) : null)},
        {label: 'Events', value: (w) => eventsText(w.events) || 'All events'},
        {label: 'Status', value: (w) => h('span', {},
          h('span', {class: w.enabled ? 'badge ok' : 'badge muted'}, w.enabled ? 'enabled' : 'disabled'),
          w.disabledReason ? h('small', {class: 'muted block'}, w.disabledReason) : null)},
        {label: 'Created', value: (w) => when(w.createdAt)},
        {label: 'Actions', class: 'actions', value: (w) => h('span', {class: 'actions'},
          button('Deliveries', async () => showDeliveries(w), {kind: 'secondary small'}),
          button('Edit', async () => showEdit(w), {kind: 'secondary small'}),
          button('Send test', async () => {
            await api.post(`/webhooks/${encodeURIComponent(w.id)}/test`);
            notice(`A test delivery to ${w.url} is queued.`);
          }, {kind: 'secondary small'}),
          button('Rotate secret', async () => {
            if (!await confirmDialog(`Make a new signing secret for ${w.url}? The old one keeps signing alongside it for 24 hours.`, 'Rotate secret')) return;
            const rotated = await api.post(`/webhooks/${encodeURIComponent(w.id)}/rotate-secret`);
            showSecret(w, rotated.secret, 'New signing secret');
          }, {kind: 'secondary small'}),
          button('Delete', async () => {
            if (!await confirmDialog(`Delete the webhook to ${w.url}? Nothing more is delivered to it.`, 'Delete webhook')) return;
            await api.delete(`/webhooks/${encodeURIComponent(w.id)}`);
            notice(`The webhook to ${w.url} is deleted.`);
            replace(panel);
            await load();
          }, {kind: 'secondary small'}))},
      ],
      rows: hooks,
      empty: 'No webhooks yet: add the first one above.',
    }));
  }

  function showEdit(hook) {
    const edit = form({
      submit: 'Save changes',
      fields: [
        {name: 'url', label: 'URL', type: 'url', required: true, value: hook.url, maxlength: 2048},
        {name: 'events', label: 'Events', value: eventsText(hook.events), help: 'Comma-separated, * as a wildcard (user.*); empty for every event.'},
        {name: 'description', label: 'Description', type: 'textarea', rows: 2, value: hook.description || '', maxlength: 500},
        {name: 'enabled', label: 'Enabled', type: 'checkbox', value: hook.enabled},
      ],
      onSubmit: async ({url, events, description, enabled}) => {
        const body = {url: url.trim(), events: eventList(events) || ['*'], description: description.trim(), enabled};
        await api.put(`/webhooks/${encodeURIComponent(hook.id)}`, body);
        notice('Webhook updated.');
        replace(panel);
        await load();
      },
    });
    replace(panel, h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, `Edit the webhook to ${hook.url}`), closeButton()),
      edit));
    edit.inputs.url.focus();
  }

  function showDeliveries(hook) {
    const state = {status: '', skip: 0};
    const rows = h('div', {}, loading());
    async function loadDeliveries() {
      const params = new URLSearchParams({take: String(TAKE), skip: String(state.skip)});
      if (state.status) params.set('status', state.status);
      const answer = await api.get(`/webhooks/${encodeURIComponent(hook.id)}/deliveries?${params}`);
      replace(rows,
        table({
          caption: `Deliveries to ${hook.url}`,
          columns: [
            {label: 'Event', value: (d) => h('span', {}, d.type, h('small', {class: 'muted block'}, d.eventId))},
            {label: 'Status', value: (d) => h('span', {class: BADGE[d.status] || 'badge'}, d.status)},
            {label: 'Attempts', value: (d) => String(d.attempts)},
            {label: 'Last attempt', value: (d) => (d.lastAttemptAt ? when(d.lastAttemptAt) : '—')},
            {label: 'Answer', value: (d) => (d.responseStatus === null || d.responseStatus === undefined
              ? '—'
              : h('span', {}, `${d.responseStatus}`, d.durationMs !== null && d.durationMs !== undefined ? h('small', {class: 'muted'}, ` · ${d.durationMs} ms`) : null,
                d.responseBody ? h('details', {}, h('summary', {}, 'Body'), h('pre', {class: 'json'}, d.responseBody)) : null))},
            {label: 'Next attempt', value: (d) => (d.status === 'pending' && d.nextAttemptAt ? when(d.nextAttemptAt) : '—')},
            {label: 'Actions', class: 'actions', value: (d) => (d.status === 'delivered'
              ? null
              : button('Retry', async () => {
                await api.post(`/webhooks/${encodeURIComponent(hook.id)}/deliveries/${encodeURIComponent(d.id)}/retry`);
                notice('The delivery is tried again now.');
                await loadDeliveries();
              }, {kind: 'secondary small'}))},
          ],
          rows: answer.deliveries || [],
          empty: state.status ? 'No deliveries match.' : 'Nothing delivered yet: changes in the organization are delivered as they happen, or send a test.',
        }),
        answer.total > TAKE ? pager({skip: state.skip, take: TAKE, total: answer.total, onPage: (skip) => { state.skip = skip; loadDeliveries().catch((e) => replace(rows, errorBox(e))); }}) : null);
    }
    const filter = form({
      submit: 'Show',
      kind: 'secondary',
      fields: [{name: 'status', label: 'Delivery status', type: 'select', value: state.status, options: DELIVERY_STATUSES.map(([value, label]) => ({value, label}))}],
      onSubmit: async ({status}) => {
        state.status = status;
        state.skip = 0;
        await loadDeliveries();
      },
    });
    filter.classList.add('filters');
    const refresh = button('Refresh', loadDeliveries, {kind: 'secondary small'});
    replace(panel, h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, `Deliveries to ${hook.url}`), h('span', {class: 'actions'}, refresh, closeButton())),
      filter,
      rows));
    loadDeliveries().catch((error) => replace(rows, errorBox(error)));
  }

  const create = form({
    submit: 'Add webhook',
    fields: [
      {name: 'url', label: 'URL', type: 'url', required: true, placeholder: 'https://', maxlength: 2048, help: 'We POST each change here, signed.'},
      {name: 'events', label: 'Events (optional)', help: 'Comma-separated, * as a wildcard: workspace.created, user.*. Empty for every event.'},
      {name: 'description', label: 'Description (optional)', type: 'textarea', rows: 2, maxlength: 500},
    ],
    onSubmit: async ({url, events, description}, element) => {
      const body = {url: url.trim()};
      const list = eventList(events);
      if (list) body.events = list;
      if (description.trim()) body.description = description.trim();
      const answer = await api.post('/webhooks', body);
      element.reset();
      notice(`Webhook to ${answer.webhook.url} added.`);
      showSecret(answer.webhook, answer.secret, 'Webhook added');
      await load();
    },
  });

  try {
    await load();
  } catch (error) {
    replace(listArea, errorBox(error));
  }
  return h('div', {class: 'stack'},
    h('p', {class: 'muted'}, 'Webhooks tell other systems about every change in the organization as it happens: each committed event of the audit trail is delivered, signed, in order, and retried for three days until the receiver answers 2xx.'),
    card('Add a webhook', create),
    panel,
    listArea);
}
