// Pages by path under /console/, with the History API. A page module exports:
//   title: string (the page's heading and the document title),
//   access: 'public' (anyone), 'guest' (only signed out: sign-in, sign-up) or 'user' (signed in),
//   render(ctx): a Node, or a promise of one.
// ctx: {params (the path's :names), query (URLSearchParams), fragment (URLSearchParams of the
// part after #, where e-mailed links carry their tokens), user (the profile or null), navigate}.

const BASE = '/console';
const routes = [];

/** Adds `pattern` (`/workspaces/:id`) served by the module `load()` imports. */
export function route(pattern, load) {
  const names = [];
  const source = pattern
    .split('/')
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  routes.push({regex: new RegExp(`^${source}/?$`), names, load});
}

/** The page of `path` (without /console) and its params; null when none matches. */
export function match(path) {
  for (const {regex, names, load} of routes) {
    const found = regex.exec(path);
    if (found) {
      const params = {};
      names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
      return {load, params};
    }
  }
  return null;
}

let onChange = () => {};

export function start(handler) {
  onChange = handler;
  window.addEventListener('popstate', () => onChange());
  // Links inside the console navigate without reloading.
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href]');
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`)) return;
    if (link.hasAttribute('download') || link.target) return;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  onChange();
}

/** Goes to `to` (`/console/...` or a path below it such as `/workspaces`). */
export function navigate(to, {replace = false} = {}) {
  const target = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  onChange();
}

/** The current path below /console ('/' for the console's root). */
export function currentPath() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return path || '/';
}

/** A console link: `link('/workspaces', 'Workspaces')` -> <a href="/console/workspaces">. */
export function href(path) {
  return `${BASE}${path}`;
}
