// The console's entry point: the pages by path, and what happens on every navigation (find the
// page, check who may see it, draw it in the frame).

import {h, replace} from './dom.js';
import {ApiError, endSession, onSessionChange} from './api.js';
import {currentUser, forgetUser} from './session.js';
import {route, match, start, currentPath, navigate} from './router.js';
import {shell} from './layout.js';
import {loading, errorBox} from './ui.js';

// Signed out.
route('/', () => import('./pages/home.js'));
route('/signin', () => import('./pages/signin.js'));
route('/signup', () => import('./pages/signup.js'));
route('/forgot-password', () => import('./pages/forgot-password.js'));
// Opened from e-mails (their tokens in the fragment) or after a password.
route('/verify', () => import('./pages/verify.js'));
route('/reset-password', () => import('./pages/reset-password.js'));
route('/activate', () => import('./pages/activate.js'));
route('/mfa', () => import('./pages/mfa.js'));
route('/signed-in', () => import('./pages/signed-in.js'));
route('/mfa-activate', () => import('./pages/mfa-activate.js'));
route('/magic-link', () => import('./pages/magic-link.js'));
// Signed in.
route('/workspaces', () => import('./pages/workspaces.js'));
route('/workspaces/:id', () => import('./pages/workspace.js'));
route('/organization', () => import('./pages/organization.js'));
route('/organization/users', () => import('./pages/organization-users.js'));
route('/organization/webhooks', () => import('./pages/webhooks.js'));
route('/audit', () => import('./pages/audit.js'));
route('/account', () => import('./pages/account.js'));
route('/account/security', () => import('./pages/security.js'));
route('/account/sessions', () => import('./pages/sessions.js'));
route('/admin/links', () => import('./pages/links.js'));

const app = document.getElementById('app');
let drawing = 0;
/** Who may see the page on screen ('public', 'guest', 'user'). */
let shownAccess = null;

// A session the server ended (revoked from another device, signed out everywhere, the account
// deleted) shows at the next call to the API, which forgets the tokens: a page for signed-in
// people then goes to sign in, whatever the person did (a navigation or an action).
onSessionChange((signedIn, byServer) => {
  if (signedIn || !byServer || shownAccess !== 'user') return;
  shownAccess = null;
  forgetUser();
  const next = encodeURIComponent(location.pathname + location.search);
  navigate(`/signin?next=${next}`, {replace: true});
});

async function draw() {
  const ticket = ++drawing;
  const path = currentPath();
  const found = match(path);
  if (!found) {
    replace(app, shell({user: null, title: 'Page not found', path, content: h('p', {}, 'There is no such page. ', h('a', {href: '/console/'}, 'Go to the start.'))}));
    return;
  }
  let user = null;
  try {
    user = await currentUser();
  } catch (error) {
    if (error instanceof ApiError && error.code === 'MFA_REQUIRED') {
      user = null;
    } else if (error instanceof ApiError && error.status === 401) {
      endSession();
      forgetUser();
    } else {
      replace(app, shell({user: null, title: 'Something went wrong', path, content: errorBox(error)}));
      return;
    }
  }
  const page = await found.load();
  if (ticket !== drawing) return;
  // A session waiting for its second factor may read the profile, but it is not signed in yet:
  // pages for signed-in people send it to the MFA step, the others show no navigation.
  if (user && sessionStorage.getItem('workspaces.mfaPending') === '1') {
    if (page.access === 'user') {
      navigate('/mfa', {replace: true});
      return;
    }
    user = null;
  }
  if (page.access === 'user' && !user) {
    const next = encodeURIComponent(location.pathname + location.search);
    navigate(`/signin?next=${next}`, {replace: true});
    return;
  }
  if (page.access === 'guest' && user) {
    navigate('/workspaces', {replace: true});
    return;
  }
  shownAccess = page.access;
  const title = typeof page.title === 'function' ? page.title() : page.title;
  document.title = `${title} · Workspaces`;
  const content = h('div', {class: 'page-body'}, loading());
  replace(app, shell({user: page.access === 'user' ? user : (user && page.access !== 'guest' ? user : null), title, path, content}));
  const fragment = new URLSearchParams(location.hash.slice(1));
  // An e-mailed link's token leaves the address bar (and the history) once read.
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  const ctx = {
    params: found.params,
    query: new URLSearchParams(location.search),
    fragment,
    user,
    navigate,
    redraw: draw,
  };
  try {
    const body = await page.render(ctx);
    if (ticket !== drawing) return;
    replace(content, body);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'MFA_REQUIRED') {
      navigate('/mfa', {replace: true});
      return;
    }
    if (ticket !== drawing) return;
    replace(content, errorBox(error));
  }
  const focusTarget = document.querySelector('main [autofocus]') || document.getElementById('main');
  if (focusTarget && document.activeElement === document.body) focusTarget.focus();
}

start(draw);
