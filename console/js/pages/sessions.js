// Where the person is signed in (contract section 9): sessions (GET /sessions; GET /token marks
// the current one), revoking one (POST /sessions/{id}/revoke) or all (POST /sessions/revoke-all,
// this one included, then a local sign-out), and devices (GET /devices, GET /devices/{id} for a
// device's fingerprint and sessions; trust POST /devices/trust {fingerprint}, untrust POST
// /devices/{id}/untrust, remove DELETE /devices/{id}: both end the device's sessions).
import {h, replace, when} from '../dom.js';
import {api, endSession} from '../api.js';
import {href} from '../router.js';
import {card, table, loading, errorBox, notice, confirmDialog} from '../ui.js';
import {forgetUser} from '../session.js';

export const title = 'Sessions and devices';
export const access = 'user';

/** How a session signed in, as the list says it (identity providers by their name). */
const LOGIN_METHODS = {LOCAL: 'a password', PASSKEY: 'a passkey'};

/** Details of at most this many devices are read (the current device's mark, fingerprints). */
const DETAILS = 50;

export async function render(ctx) {
  const sessionsSlot = h('div', {}, loading());
  const devicesSlot = h('div', {}, loading());
  const sessionsAlert = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const devicesAlert = h('p', {class: 'form-error', role: 'alert', hidden: true});
  let currentId = null;

  function signedOutHere() {
    endSession();
    forgetUser();
    ctx.navigate('/signin', {replace: true});
  }

  /** A row button: errors go to `alert`, success reloads both lists (they share sessions). */
  function action(label, alert, run, {kind = 'secondary', aria = null, small = true} = {}) {
    const el = h('button', {type: 'button', class: small ? `${kind} small` : kind, 'aria-label': aria});
    el.append(label);
    el.addEventListener('click', async () => {
      sessionsAlert.hidden = true;
      devicesAlert.hidden = true;
      el.disabled = true;
      try {
        const message = await run();
        if (message === false) return;
        if (message === 'signed-out') {
          signedOutHere();
          return;
        }
        await load();
        if (message) notice(message);
      } catch (error) {
        replace(alert, error.message || String(error));
        alert.hidden = false;
      } finally {
        el.disabled = false;
      }
    });
    return el;
  }

  function sessionsCard(sessions) {
    const others = sessions.filter((s) => s.id !== currentId).length;
    const revokeAll = action('Sign out everywhere', sessionsAlert, async () => {
      const sure = await confirmDialog('Sign out of every session, this one included? You will sign in again here.', 'Sign out everywhere');
      if (!sure) return false;
      await api.post('/sessions/revoke-all');
      return 'signed-out';
    }, {kind: 'danger', small: false});
    return h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'Sessions'), h('span', {class: 'muted'}, `${sessions.length} signed in${others ? `, ${others} elsewhere` : ''}`)),
      h('p', {class: 'intro'}, 'Each sign-in is a session. Revoke one you do not recognise: it ends at once.'),
      sessionsAlert,
      table({
        caption: 'Your sessions',
        columns: [
          {label: 'Device', value: (s) => h('div', {class: 'name-cell'},
            h('span', {}, s.deviceName || 'Unknown device', ' ', s.id === currentId ? h('span', {class: 'badge'}, 'This session') : null),
            h('span', {class: 'muted'}, s.loginMethod ? `Signed in with ${LOGIN_METHODS[s.loginMethod] || s.loginMethod}` : ''))},
          {label: 'IP address', value: (s) => s.ipAddress || '—'},
          {label: 'Signed in', value: (s) => when(s.startedAt)},
          {label: 'Last activity', value: (s) => when(s.lastActivity)},
          {label: 'Expires', value: (s) => when(s.expiresAt)},
          {label: 'Actions', class: 'actions', value: (s) => (s.id === currentId
            ? h('span', {class: 'muted'}, 'Current')
            : action('Revoke', sessionsAlert, async () => {
              const answer = await api.post(`/sessions/${encodeURIComponent(s.id)}/revoke`);
              return answer.message || 'Session revoked.';
            }, {aria: `Revoke the session of ${s.deviceName || 'an unknown device'} started ${when(s.startedAt)}`}))},
        ],
        rows: sessions,
        empty: 'No live sessions.',
      }),
      h('div', {class: 'actions'}, revokeAll));
  }

  function devicesCard(devices, details) {
    const isCurrent = (d) => Boolean(details[d.id] && (details[d.id].sessions || []).some((s) => s.id === currentId));
    const describe = (d) => [d.browser, d.os, d.deviceType && d.deviceType !== 'UNKNOWN' ? d.deviceType.toLowerCase() : null].filter(Boolean).join(' · ');
    const actionsFor = (d) => {
      const name = d.deviceName || 'this device';
      const here = isCurrent(d);
      const endsHere = here ? ' This is the device you are using: you will be signed out here.' : '';
      const buttons = [];
      if (d.isTrusted) {
        buttons.push(action('Untrust', devicesAlert, async () => {
          const sure = await confirmDialog(`Stop trusting ${name}? Its sessions end at once.${endsHere}`, 'Untrust');
          if (!sure) return false;
          const answer = await api.post(`/devices/${encodeURIComponent(d.id)}/untrust`);
          return here ? 'signed-out' : (answer.message || 'Device untrusted.');
        }, {aria: `Untrust ${name}`}));
      } else {
        buttons.push(action('Trust', devicesAlert, async () => {
          const detail = details[d.id] || (await api.get(`/devices/${encodeURIComponent(d.id)}`)).device;
          const answer = await api.post('/devices/trust', {fingerprint: detail.deviceFingerprint});
          return answer.message || 'Device trusted.';
        }, {aria: `Trust ${name}`}));
      }
      buttons.push(action('Remove', devicesAlert, async () => {
        const sure = await confirmDialog(`Remove ${name}? Its sessions end at once.${endsHere}`, 'Remove device');
        if (!sure) return false;
        const answer = await api.delete(`/devices/${encodeURIComponent(d.id)}`);
        return here ? 'signed-out' : (answer.message || 'Device removed.');
      }, {kind: 'danger', aria: `Remove ${name}`}));
      return h('div', {class: 'row-actions'}, buttons);
    };
    return h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h2', {}, 'Devices'), h('span', {class: 'muted'}, `${devices.length} known`)),
      h('p', {class: 'intro'}, 'The devices you signed in from. Trusting a device marks it as yours for 30 days; it still asks for your second step when you use one.'),
      devicesAlert,
      table({
        caption: 'Your devices',
        columns: [
          {label: 'Device', value: (d) => h('div', {class: 'name-cell'},
            h('span', {}, d.deviceName || 'Unknown device', ' ', isCurrent(d) ? h('span', {class: 'badge'}, 'This device') : null),
            h('span', {class: 'muted'}, describe(d)))},
          {label: 'IP address', value: (d) => d.ipAddress || '—'},
          {label: 'Last seen', value: (d) => when(d.lastSeen)},
          {label: 'Trust', value: (d) => (d.isTrusted
            ? h('span', {class: 'name-cell'}, h('span', {class: 'badge success'}, 'Trusted'), d.trustExpiresAt ? h('span', {class: 'muted'}, `until ${when(d.trustExpiresAt)}`) : null)
            : h('span', {class: 'badge muted'}, 'Not trusted'))},
          {label: 'Actions', class: 'actions', value: actionsFor},
        ],
        rows: devices,
        empty: 'No devices recorded yet.',
      }));
  }

  async function load() {
    const [sessions, tokens, devices] = await Promise.all([
      api.get('/sessions').then((a) => a.sessions || [], (error) => ({error})),
      api.get('/token').then((a) => a.tokens || [], () => []),
      api.get('/devices').then((a) => a.devices || [], (error) => ({error})),
    ]);
    const current = tokens.find((t) => t.current);
    currentId = current ? current.id : null;
    if (sessions.error) replace(sessionsSlot, card('Sessions', errorBox(sessions.error)));
    else replace(sessionsSlot, sessionsCard(sessions));
    if (devices.error) {
      replace(devicesSlot, card('Devices', errorBox(devices.error)));
      return;
    }
    const details = {};
    await Promise.all(devices.slice(0, DETAILS).map((d) => api.get(`/devices/${encodeURIComponent(d.id)}`)
      .then((a) => { details[d.id] = a.device; }, () => null)));
    replace(devicesSlot, devicesCard(devices, details));
  }

  await load();
  return h('div', {class: 'stack'},
    h('p', {class: 'intro'}, h('a', {href: href('/account')}, '← Account'), ' · ', h('a', {href: href('/account/security')}, 'Two-step sign-in')),
    sessionsSlot,
    devicesSlot);
}
