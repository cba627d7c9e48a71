// The person's organization: its profile (GET /organization/{orgId}; OWNER and ADMINISTRATORS
// edit it with PUT), its users (a link to /organization/users for WORKSPACES and above), MFA
// enforcement (POST /mfa/organization/enforce), its plan and quota usage (GET /user/quota), and
// its free-form settings (GET /settings/organization; OWNER and ADMINISTRATORS replace them).
// Each section loads on its own, so one that fails leaves the others usable.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form, card, loading, errorBox, notice, button, confirmDialog} from '../ui.js';
import {canManageUsers, isOrgAdmin, roleName, currentUser} from '../session.js';
import {settingsEditor} from './settings-editor.js';

export const title = 'Organization';
export const access = 'user';

/** The profile fields PUT /organization/{orgId} accepts, in the order a form shows them. */
const PROFILE_FIELDS = [
  {name: 'name', label: 'Organization name', required: true, maxlength: 255, autocomplete: 'organization'},
  {name: 'website', label: 'Website', type: 'url', autocomplete: 'url', placeholder: 'https://'},
  {name: 'phone', label: 'Phone', type: 'tel', autocomplete: 'tel'},
  {name: 'address1', label: 'Address', autocomplete: 'address-line1'},
  {name: 'address2', label: 'Address (line 2)', autocomplete: 'address-line2'},
  {name: 'city', label: 'City', autocomplete: 'address-level2'},
  {name: 'zipcode', label: 'Postal code', autocomplete: 'postal-code'},
  {name: 'state', label: 'State or region', autocomplete: 'address-level1'},
  {name: 'country', label: 'Country', autocomplete: 'country-name'},
];

const text = (value) => (value === null || value === undefined ? '' : String(value));

function facts(pairs) {
  return h('dl', {class: 'fact-list'}, pairs.flatMap(([label, value]) => [
    h('dt', {}, label),
    h('dd', {}, value === '' || value === null || value === undefined ? h('span', {class: 'muted'}, '—') : value),
  ]));
}

function profileSection(ctx, org, onSaved) {
  if (!isOrgAdmin(ctx.user)) {
    return card('Profile',
      facts([
        // The name always; other fields only when filled in.
        ...PROFILE_FIELDS.filter((f) => f.name === 'name' || text(org[f.name]) !== '').map((f) => [f.label, text(org[f.name])]),
        ['Kind', org.is_business ? 'Business' : 'Personal'],
      ]),
      h('p', {class: 'muted'}, 'Only owners and administrators change the organization’s profile.'));
  }
  const edit = form({
    submit: 'Save organization',
    fields: [
      ...PROFILE_FIELDS.map((f) => ({...f, value: text(org[f.name])})),
      {name: 'is_business', label: 'This organization is a business', type: 'checkbox', value: Boolean(org.is_business)},
    ],
    onSubmit: async (values) => {
      // Only what changed: the audit trail records each changed field, and nothing else.
      const body = {};
      for (const f of PROFILE_FIELDS) {
        if (values[f.name].trim() !== text(org[f.name])) body[f.name] = values[f.name].trim();
      }
      if (values.is_business !== Boolean(org.is_business)) body.is_business = values.is_business;
      if (Object.keys(body).length === 0) {
        notice('Nothing to save: no field changed.');
        return;
      }
      const answer = await api.put(`/organization/${encodeURIComponent(org.id)}`, body);
      notice(answer.message || 'Organization updated.');
      await onSaved(answer.data || {...org, ...body});
    },
  });
  edit.classList.add('columns');
  return card('Profile', edit);
}

function usersSection(ctx) {
  if (canManageUsers(ctx.user)) {
    return card('Users',
      h('p', {}, 'Invite people, change their roles, and remove or restore their accounts.'),
      h('p', {}, h('a', {class: 'button secondary', href: href('/organization/users')}, 'Manage users')));
  }
  return card('Users',
    h('p', {class: 'muted'}, `Your role is ${roleName(ctx.user.orgRole)}. Managing the organization’s users needs the WORKSPACES role or higher: ask an owner or administrator.`));
}

/** For OWNER and ADMINISTRATORS: the webhooks at a glance, and the page that manages them. */
async function webhooksSection(ctx) {
  if (!isOrgAdmin(ctx.user)) return null;
  const body = h('div', {}, loading());
  try {
    const hooks = (await api.get('/webhooks')).webhooks || [];
    const enabled = hooks.filter((w) => w.enabled).length;
    replace(body,
      h('p', {}, hooks.length
        ? `${hooks.length} webhook${hooks.length === 1 ? '' : 's'}, ${enabled} enabled: other systems hear of every change as it happens.`
        : 'No webhooks: add one to tell another system about every change as it happens.'),
      hooks.length ? h('ul', {}, hooks.slice(0, 5).map((w) => h('li', {class: 'break'}, w.url, w.enabled ? '' : h('span', {class: 'badge muted'}, ' disabled')))) : null);
  } catch (error) {
    replace(body, errorBox(error));
  }
  return card('Webhooks', body,
    h('p', {}, h('a', {class: 'button secondary', href: href('/organization/webhooks')}, 'Manage webhooks')));
}

function mfaSection(ctx, org, onChanged) {
  const alert = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const enforced = Boolean(org.mfaEnforced);
  const state = h('p', {},
    h('span', {class: enforced ? 'badge success' : 'badge muted'}, enforced ? 'Enforced' : 'Not enforced'), ' ',
    enforced
      ? 'Everyone in the organization signs in with a second factor. People without one set it up at their next sign-in.'
      : 'Each person chooses whether to use a second factor when signing in.');
  let action = null;
  if (isOrgAdmin(ctx.user)) {
    action = button(enforced ? 'Stop enforcing MFA' : 'Enforce MFA for everyone', async () => {
      alert.hidden = true;
      if (!enforced) {
        const sure = await confirmDialog('Everyone in the organization will need a second factor to sign in. Sessions that never passed one end within the hour. Enforce MFA?', 'Enforce MFA');
        if (!sure) return;
      }
      try {
        const answer = await api.post('/mfa/organization/enforce', {enforced: !enforced});
        notice(answer.message || 'MFA enforcement changed.');
        await onChanged({...org, mfaEnforced: !enforced});
        await currentUser({reload: true}).catch(() => null);
      } catch (error) {
        replace(alert, error.message || String(error));
        alert.hidden = false;
      }
    }, {kind: enforced ? 'secondary' : 'primary'});
  }
  return card('Two-step sign-in (MFA)', state, alert,
    action ? h('div', {class: 'actions'}, action) : h('p', {class: 'muted'}, 'Only owners and administrators change this.'),
    h('p', {}, h('a', {href: href('/account/security')}, 'Set up your own second factor')));
}

function quotaItem({capability = {}, usage = {}}) {
  const current = Number(usage.current) || 0;
  const max = Number(usage.max);
  const unlimited = !(max >= 0);
  const label = capability.description || capability.code || 'Capability';
  const id = `quota-${String(capability.code || label).replace(/[^A-Za-z0-9_-]/g, '')}`;
  const amount = unlimited ? `${current} (unlimited)` : `${current} of ${max}`;
  return h('div', {class: 'quota-item'},
    h('div', {class: 'quota-line'}, h('strong', {id}, label), h('span', {}, amount)),
    unlimited
      ? h('small', {class: 'muted'}, 'No limit on this server.')
      : h('meter', {min: 0, max: Math.max(max, 1), value: Math.min(current, Math.max(max, 1)), low: Math.max(max, 1) * 0.7, high: Math.max(max, 1) * 0.9, optimum: 0, 'aria-labelledby': id}, `${usage.percentage ?? 0}%`));
}

async function quotaSection() {
  const body = h('div', {}, loading());
  try {
    const answer = await api.get('/user/quota');
    const subscription = answer.subscription || {};
    const items = answer.quotaUsage || [];
    replace(body,
      h('p', {}, 'Plan: ', h('strong', {}, subscription.name || 'Unknown'),
        subscription.description ? h('span', {class: 'muted'}, ` · ${subscription.description}`) : null),
      items.length ? h('div', {class: 'quota'}, items.map(quotaItem)) : h('p', {class: 'muted'}, 'This plan sets no limits.'));
  } catch (error) {
    // A server without GET /user/quota answers it as GET /user/{userId}: 404.
    replace(body, error.status === 404 ? h('p', {class: 'muted'}, 'This server does not report plan usage.') : errorBox(error));
  }
  return card('Plan and usage', body);
}

export async function render(ctx) {
  const user = ctx.user;
  const profileSlot = h('div', {}, loading());
  const mfaSlot = h('div', {});
  const intro = h('p', {class: 'intro'}, `Your role: ${roleName(user.orgRole)}.`);

  const drawOrg = (org) => {
    replace(intro, `You are ${roleName(user.orgRole)} of `, h('strong', {}, org.name), '.');
    replace(profileSlot, profileSection(ctx, org, drawOrg));
    replace(mfaSlot, mfaSection(ctx, org, drawOrg));
  };

  const [orgAnswer, quota, webhooks] = await Promise.all([
    api.get(`/organization/${encodeURIComponent(user.orgId)}`).then((a) => ({data: a.data}), (error) => ({error})),
    quotaSection(),
    webhooksSection(ctx),
  ]);
  if (orgAnswer.error) {
    replace(profileSlot, card('Profile', errorBox(orgAnswer.error)));
  } else {
    drawOrg(orgAnswer.data);
  }

  const settings = card('Organization settings',
    h('p', {class: 'intro'}, 'Settings shared by everyone in the organization, as a JSON object that applications read.'),
    settingsEditor({
      path: '/settings/organization',
      canWrite: isOrgAdmin(user),
      label: 'Organization settings (JSON)',
      readOnlyNote: 'Only owners and administrators change these settings.',
    }));

  return h('div', {class: 'stack'},
    intro,
    profileSlot,
    h('div', {class: 'grid'}, usersSection(ctx), mfaSlot),
    quota,
    webhooks,
    settings);
}
