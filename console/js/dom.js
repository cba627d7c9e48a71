// The one place the console puts content on a page. Everything is built with
// document.createElement and text nodes: text from people and from the API is always inserted
// as text, never parsed as HTML (no innerHTML anywhere in the console; see the browser test that
// names a workspace `<img src=x onerror=alert(1)>`).

/**
 * An element: `h('button', {class: 'primary', onclick: fn}, 'Save')`.
 * Attributes: `class`, `for`, any `data-*`/`aria-*`, booleans (true sets, false omits), `on*`
 * functions become listeners. Children: strings (as text), numbers, nodes, arrays, null/false
 * (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'value' && 'value' in el) {
      el.value = value;
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (strings as text nodes) to `el`. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the content of `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An SVG element (the audit trail's chart): same rules as `h`. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** A date and time as the reader's locale writes it; '' for none. */
export function when(value) {
  if (value === null || value === undefined || value === '') return '';
  const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
