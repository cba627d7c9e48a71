// The audit trail (POST /systemevent, the query in the body, contract section 7): filters,
// paging, the unread count, marking read and unread (POST/DELETE /systemevent/read), a download
// of the visible events as JSON, and a chart of events per day for the filtered range (an SVG
// drawn here, from at most CHART_PAGES pages of the same query).
import {h, svg, replace, when} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form, table, card, pager, button, errorBox, loading} from '../ui.js';
import {canManageUsers} from '../session.js';

export const title = 'Audit trail';
export const access = 'user';

const TAKE = 20;
const CHART_PAGES = 5;
const CHART_TAKE = 100;
const MAX_DAYS = 62;
const DAY = 24 * 60 * 60 * 1000;

/** The contexts and events this service writes (indices on the way in, names on the way out). */
const CONTEXTS = [[0, 'workspace'], [5, 'workspaceuser'], [3, 'user'], [4, 'org'], [7, 'usersettings'], [8, 'orgsettings']];
const EVENTS = [[0, 'created'], [1, 'updated'], [2, 'deleted']];

/** `datetime-local` value of a date, in the reader's time zone. */
function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function dayKey(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

export async function render(ctx) {
  const weekAgo = startOfDay(new Date(Date.now() - 6 * DAY));
  const state = {
    filters: {
      context: ctx.query.get('context') || '',
      event: ctx.query.get('event') || '',
      userId: ctx.query.get('userId') || '',
      workspaceId: ctx.query.get('workspaceId') || '',
      from: localInput(weekAgo),
      to: '',
      unread: false,
    },
    skip: 0,
  };
  let downloadUrl = null;
  // Workspace names for the table (a deleted workspace's events show its ID).
  const names = new Map();
  try {
    for (const w of (await api.get('/workspace')).workspaces || []) names.set(w.id, w.name);
  } catch {
    // IDs only.
  }

  const counter = h('p', {class: 'unread-count', role: 'status'});
  const chartArea = h('div', {class: 'chart-area'}, loading());
  const listArea = h('div', {class: 'stack'}, loading());

  /** The query body of the current filters (without paging). */
  function query() {
    const f = state.filters;
    const body = {};
    if (f.context !== '') body.context = Number(f.context);
    if (f.event !== '') body.event = Number(f.event);
    if (f.userId.trim()) body.userId = f.userId.trim();
    if (f.workspaceId.trim()) body.workspaceId = f.workspaceId.trim();
    if (f.from) body.from_timestamp = new Date(f.from).toISOString();
    if (f.to) body.to_timestamp = new Date(f.to).toISOString();
    if (f.unread) body.showUnread = true;
    return body;
  }

  async function loadList() {
    replace(listArea, loading());
    const answer = await api.post('/systemevent', {...query(), skip: state.skip, take: TAKE});
    const events = answer.events || [];
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([JSON.stringify(events, null, 2)], {type: 'application/json'}));
    const unreadIds = events.filter((e) => e.showUnread).map((e) => e.id);
    const mark = async (list, read) => {
      if (list.length === 0) return;
      if (read) await api.post('/systemevent/read', {ids: list});
      else await api.delete('/systemevent/read', {ids: list});
      await Promise.all([loadList(), loadCount()]);
    };
    replace(listArea,
      h('div', {class: 'toolbar'},
        h('p', {class: 'muted'}, answer.total === 1 ? '1 event matches.' : `${answer.total} events match.`),
        h('div', {class: 'actions'},
          unreadIds.length ? button('Mark these read', () => mark(unreadIds, true), {kind: 'secondary small'}) : null,
          events.length ? h('a', {class: 'button secondary small', href: downloadUrl, download: `audit-trail-${dayKey(new Date())}.json`}, 'Download these events (JSON)') : null)),
      table({
        caption: 'Events',
        columns: [
          {label: 'When', value: (e) => h('time', {datetime: e.timestamp}, when(e.timestamp))},
          {label: 'What', value: (e) => h('span', {}, h('span', {class: `badge ctx-${e.context}`}, e.context), ' ', e.event)},
          {label: 'Who', value: (e) => h('span', {class: 'who-cell'}, e.userName || '', e.userEmail ? h('small', {class: 'muted'}, e.userEmail) : null)},
          {label: 'Workspace', value: (e) => {
            if (!e.workspaceId) return '—';
            return names.has(e.workspaceId)
              ? h('a', {href: href(`/workspaces/${e.workspaceId}`), title: e.workspaceId}, names.get(e.workspaceId))
              : h('code', {class: 'id', title: 'A deleted workspace, or one you no longer see'}, e.workspaceId);
          }},
          {label: 'Details', value: details},
          {label: 'Status', class: 'actions', value: (e) => h('span', {class: 'actions'},
            e.showUnread ? h('span', {class: 'badge'}, 'Unread') : h('span', {class: 'badge muted'}, 'Read'),
            button(e.showUnread ? 'Mark read' : 'Mark unread', () => mark([e.id], e.showUnread), {kind: 'secondary small'}))},
        ],
        rows: events,
        empty: state.filters.unread ? 'No unread events match these filters.' : 'No events match these filters.',
      }),
      answer.total > TAKE ? pager({skip: state.skip, take: TAKE, total: answer.total, onPage: (skip) => { state.skip = skip; loadList().catch(show(listArea)); }}) : null);
  }

  async function loadCount() {
    const body = query();
    body.showUnread = true;
    const answer = await api.post('/systemevent', {...body, skip: 0, take: 1});
    replace(counter, h('span', {class: answer.total ? 'badge' : 'badge muted'}, `${answer.total} unread`), ' in the selected range');
  }

  async function loadChart() {
    replace(chartArea, loading('Counting events per day…'));
    const body = query();
    const events = [];
    let total = 0;
    for (let page = 0; page < CHART_PAGES; page += 1) {
      const answer = await api.post('/systemevent', {...body, skip: page * CHART_TAKE, take: CHART_TAKE});
      total = answer.total;
      events.push(...(answer.events || []));
      if (events.length >= total || (answer.events || []).length < CHART_TAKE) break;
    }
    const end = state.filters.to ? new Date(state.filters.to) : new Date();
    const start = state.filters.from ? new Date(state.filters.from) : new Date(end.getTime() - DAY);
    replace(chartArea, chart(events, total, startOfDay(start), startOfDay(end)));
  }

  const show = (area) => (error) => replace(area, errorBox(error));

  async function refresh() {
    state.skip = 0;
    await Promise.all([loadList().catch(show(listArea)), loadCount().catch(show(counter)), loadChart().catch(show(chartArea))]);
  }

  const filters = await filterForm(ctx, state, async (values) => {
    if (values.from && values.to && new Date(values.from) > new Date(values.to)) {
      throw new Error('“From” must be before “To”.');
    }
    Object.assign(state.filters, values);
    state.skip = 0;
    // Errors of the query itself (a malformed ID) belong next to the filters.
    await api.post('/systemevent', {...query(), skip: 0, take: 1});
    await refresh();
  });

  await refresh();
  return h('div', {class: 'stack'},
    h('p', {class: 'muted'}, 'Every change in your organization that you may see, newest first: who changed what, and when.'),
    card('Filters', filters),
    h('section', {class: 'card'}, h('div', {class: 'card-head'}, h('h2', {}, 'Events per day'), counter), chartArea),
    listArea);
}

/** The filters form. The person filter is a list of the organization's users when the caller may read it. */
async function filterForm(ctx, state, onSubmit) {
  const f = state.filters;
  let userField = {name: 'userId', label: 'User ID', value: f.userId, help: 'Who made the change.'};
  if (canManageUsers(ctx.user)) {
    try {
      const answer = await api.get('/organization/users');
      userField = {name: 'userId', label: 'Who', type: 'select', value: f.userId,
        options: [{value: '', label: 'Anyone'}, ...(answer.data || []).map((u) => ({value: u.id, label: `${u.name} ${u.lastName} <${u.email}>`}))]};
    } catch {
      // Keep the ID field.
    }
  }
  const element = form({
    submit: 'Apply filters',
    fields: [
      {name: 'context', label: 'Context', type: 'select', value: f.context, options: [{value: '', label: 'Any'}, ...CONTEXTS.map(([v, l]) => ({value: v, label: l}))]},
      {name: 'event', label: 'Event', type: 'select', value: f.event, options: [{value: '', label: 'Any'}, ...EVENTS.map(([v, l]) => ({value: v, label: l}))]},
      userField,
      {name: 'workspaceId', label: 'Workspace ID', value: f.workspaceId},
      {name: 'from', label: 'From', type: 'datetime-local', value: f.from},
      {name: 'to', label: 'To', type: 'datetime-local', value: f.to, help: 'Empty: until now.'},
      {name: 'unread', label: 'Unread only', type: 'checkbox', value: f.unread},
    ],
    onSubmit,
  });
  element.classList.add('filters');
  return element;
}

/** A `<details>` with the event's changes (jsonData is a JSON string), or a dash. */
function details(event) {
  if (!event.jsonData) return '—';
  let text = event.jsonData;
  try {
    text = JSON.stringify(JSON.parse(event.jsonData), null, 2);
  } catch {
    // Shown as it came.
  }
  return h('details', {}, h('summary', {}, 'Changes'), h('pre', {class: 'json'}, text));
}

/** Bars of events per day from `start` to `end` (local days), at most MAX_DAYS (the latest). */
function chart(events, total, start, end) {
  const days = [];
  for (let d = new Date(end); d >= start && days.length < MAX_DAYS; d = new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1)) {
    days.unshift(dayKey(d));
  }
  const counts = new Map(days.map((d) => [d, 0]));
  for (const e of events) {
    const key = dayKey(new Date(e.timestamp));
    if (counts.has(key)) counts.set(key, counts.get(key) + 1);
  }
  const values = days.map((d) => counts.get(d));
  const max = Math.max(1, ...values);
  const width = 640;
  const height = 160;
  const top = 16;
  const bottom = 24;
  const left = 28;
  const slot = (width - left) / days.length;
  const bar = Math.max(2, slot * 0.7);
  const scale = (height - top - bottom) / max;
  const label = (d) => new Date(`${d}T00:00:00`).toLocaleDateString(undefined, {month: 'short', day: 'numeric'});
  const tickEvery = Math.ceil(days.length / 8);
  const shown = events.length;
  const summary = `${shown} event${shown === 1 ? '' : 's'} from ${label(days[0])} to ${label(days[days.length - 1])}, at most ${max} a day.`;
  const figure = svg('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Events per day: ${summary}`},
    svg('line', {class: 'chart-axis', x1: left, y1: height - bottom, x2: width, y2: height - bottom}),
    svg('text', {class: 'chart-label', x: left - 6, y: top + 4, 'text-anchor': 'end'}, String(max)),
    svg('text', {class: 'chart-label', x: left - 6, y: height - bottom, 'text-anchor': 'end'}, '0'),
    days.map((d, i) => {
      const x = left + i * slot + (slot - bar) / 2;
      const barHeight = values[i] * scale;
      return svg('g', {},
        svg('rect', {class: 'chart-bar', x: x.toFixed(1), y: (height - bottom - barHeight).toFixed(1), width: bar.toFixed(1), height: barHeight.toFixed(1), rx: 2},
          svg('title', {}, `${label(d)}: ${values[i]}`)),
        i % tickEvery === 0 || i === days.length - 1
          ? svg('text', {class: 'chart-label', x: (x + bar / 2).toFixed(1), y: height - 6, 'text-anchor': 'middle'}, label(d))
          : null);
    }));
  return h('figure', {class: 'chart-figure'}, figure,
    h('figcaption', {class: 'muted'}, summary,
      total > shown ? ` Counted from the latest ${shown} of ${total} matching events.` : ''));
}
