// The frame around every page: for a signed-in person, the navigation (only what their role may
// use), the page's title and a notice region; for everyone else, a centred card.

import {h} from './dom.js';
import {href, navigate} from './router.js';
import {signOut} from './api.js';
import {forgetUser, canManageUsers, isInstanceAdmin} from './session.js';

/** Navigation entries: [path, label, shown(user)]. */
const NAV = [
  ['/workspaces', 'Workspaces', () => true],
  ['/organization', 'Organization', () => true],
  ['/audit', 'Audit trail', () => true],
  ['/account', 'Account', () => true],
  ['/admin/links', 'Activation links', isInstanceAdmin],
];

export function shell({user, title, path, content}) {
  const main = h('main', {id: 'main', tabindex: '-1'},
    h('div', {class: 'page-head'}, h('h1', {}, title)),
    content);
  if (!user) {
    return h('div', {class: 'guest'},
      h('a', {class: 'skip', href: '#main'}, 'Skip to content'),
      h('header', {class: 'brand'}, h('a', {href: href('/')}, h('span', {class: 'logo', 'aria-hidden': 'true'}, '◆'), ' Workspaces')),
      h('div', {id: 'notices', 'aria-live': 'polite'}),
      main);
  }
  const links = NAV.filter(([, , shown]) => shown(user)).map(([to, label]) =>
    h('li', {}, h('a', {href: href(to), 'aria-current': path.startsWith(to) ? 'page' : null}, label)));
  const signOutButton = h('button', {type: 'button', class: 'link', onclick: async () => {
    await signOut();
    forgetUser();
    navigate('/signin', {replace: true});
  }}, 'Sign out');
  return h('div', {class: 'app'},
    h('a', {class: 'skip', href: '#main'}, 'Skip to content'),
    h('header', {class: 'top'},
      h('a', {class: 'brand', href: href('/workspaces')}, h('span', {class: 'logo', 'aria-hidden': 'true'}, '◆'), ' Workspaces'),
      h('nav', {'aria-label': 'Main'}, h('ul', {}, links)),
      h('div', {class: 'who'},
        h('span', {class: 'who-name', title: user.email}, `${user.name} ${user.lastName}`),
        signOutButton)),
    h('div', {id: 'notices', 'aria-live': 'polite'}),
    user.validated ? null : h('p', {class: 'banner'}, 'Your e-mail address is not verified yet: until it is, you can look around but not change anything. Open the link in the verification e-mail.'),
    main,
    canManageUsers(user) ? null : null);
}
