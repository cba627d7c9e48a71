// `/console/magic-link#token=...`, the sign-in link e-mailed at the second step of signing in
// (POST /mfa/verify-login, MAGIC_LINK). The token works only for the pending session that asked
// for it: this tab's, when it still holds it; otherwise the tab waiting on /console/mfa in this
// browser receives the token (a BroadcastChannel, same origin only) and finishes there.
import {h} from '../dom.js';
import {api, hasSession, startSession, ApiError} from '../api.js';
import {href} from '../router.js';
import {errorBox} from '../ui.js';
import {forgetUser} from '../session.js';
import {PENDING_KEY, CHANNEL, explainLockout} from './mfa.js';

export const title = 'Sign-in link';
export const access = 'public';

function handOver(token) {
  if (!('BroadcastChannel' in window)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const channel = new BroadcastChannel(CHANNEL);
    const timer = setTimeout(() => { channel.close(); resolve(null); }, 4000);
    channel.onmessage = (event) => {
      if (!event.data || (!event.data.done && !event.data.error)) return;
      clearTimeout(timer);
      channel.close();
      resolve(event.data);
    };
    channel.postMessage({token});
  });
}

export async function render(ctx) {
  const token = ctx.fragment.get('token');
  if (!token) {
    return h('div', {class: 'narrow stack'}, errorBox(new Error('This page opens from the sign-in link in your e-mail: its token is missing.')));
  }
  if (hasSession()) {
    try {
      const answer = await api.post('/mfa/verify-login', {mfaType: 'MAGIC_LINK', token}, {retry: false});
      startSession(answer);
      sessionStorage.removeItem(PENDING_KEY);
      forgetUser();
      ctx.navigate('/workspaces', {replace: true});
      return document.createTextNode('');
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) {
        return h('div', {class: 'narrow stack'}, errorBox(explainLockout(error)), h('p', {class: 'aside'}, h('a', {href: href('/signin')}, 'Sign in again')));
      }
    }
  }
  const answer = await handOver(token);
  if (answer && answer.done) {
    return h('div', {class: 'narrow stack'},
      h('p', {class: 'success', role: 'status'}, 'You are signed in, in the tab where you started. You can close this one.'));
  }
  if (answer && answer.error) {
    return h('div', {class: 'narrow stack'}, errorBox(new Error(answer.error)), h('p', {class: 'aside'}, h('a', {href: href('/signin')}, 'Sign in again')));
  }
  return h('div', {class: 'narrow stack'},
    errorBox(new Error('No sign-in is waiting for this link in this browser.')),
    h('p', {}, 'Open the link in the browser where you signed in, while its “Two-step verification” page is still open; or sign in again and ask for a new link.'),
    h('p', {}, h('a', {class: 'button primary', href: href('/signin')}, 'Sign in')));
}
