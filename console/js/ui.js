// The console's building blocks: forms that show the API's own error next to them, tables with
// empty states, pagers, confirmation dialogs, notices. Built with `h` only (text stays text).

import {h, replace} from './dom.js';
import {ApiError} from './api.js';

let fieldCounter = 0;

/**
 * A form. `fields`: [{name, label, type = 'text', required, autocomplete, value, options
 * ([{value, label}] for a select), help, min, max, placeholder}]. `onSubmit(values, form)` may
 * throw an ApiError (or any Error): its message is shown in the form's alert, next to the
 * fields that caused it. While it runs the submit button is disabled.
 */
export function form({fields = [], submit = 'Save', onSubmit, kind = 'primary', extra = null, id = null}) {
  const alert = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const button = h('button', {type: 'submit', class: kind}, submit);
  const inputs = {};
  const rows = fields.map((field) => {
    const inputId = `f${++fieldCounter}-${field.name}`;
    let input;
    if (field.type === 'select') {
      input = h('select', {id: inputId, name: field.name, required: field.required},
        (field.options || []).map((o) => h('option', {value: o.value, selected: String(o.value) === String(field.value)}, o.label)));
    } else if (field.type === 'textarea') {
      input = h('textarea', {id: inputId, name: field.name, required: field.required, rows: field.rows || 4, placeholder: field.placeholder});
      input.value = field.value ?? '';
    } else if (field.type === 'checkbox') {
      input = h('input', {id: inputId, name: field.name, type: 'checkbox', checked: Boolean(field.value)});
    } else {
      input = h('input', {
        id: inputId, name: field.name, type: field.type || 'text', required: field.required,
        autocomplete: field.autocomplete || 'off', value: field.value ?? '', min: field.min,
        max: field.max, placeholder: field.placeholder, inputmode: field.inputmode,
        minlength: field.minlength, maxlength: field.maxlength, readonly: field.readonly,
      });
    }
    inputs[field.name] = input;
    const label = h('label', {for: inputId}, field.label);
    const help = field.help ? h('small', {class: 'help'}, field.help) : null;
    return field.type === 'checkbox'
      ? h('div', {class: 'field checkbox'}, input, label, help)
      : h('div', {class: 'field'}, label, input, help);
  });
  const element = h('form', {class: 'form', novalidate: false, id}, rows, extra, alert, h('div', {class: 'actions'}, button));
  element.addEventListener('submit', async (event) => {
    event.preventDefault();
    alert.hidden = true;
    const values = {};
    for (const [name, input] of Object.entries(inputs)) {
      values[name] = input.type === 'checkbox' ? input.checked : input.value;
    }
    button.disabled = true;
    element.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(values, element);
    } catch (error) {
      showError(alert, error);
    } finally {
      button.disabled = false;
      element.removeAttribute('aria-busy');
    }
  });
  element.inputs = inputs;
  element.showError = (error) => showError(alert, error);
  return element;
}

function showError(alert, error) {
  let message = error && error.message ? error.message : String(error);
  if (error instanceof ApiError && error.status === 429) {
    const stop = /[.!?]$/.test(message) ? '' : '.';
    message = `${message}${stop} Please wait a moment and try again.`;
  }
  replace(alert, message);
  alert.hidden = false;
}

/** A button that runs `action`, disabled while it does; errors go to `onError` or an alert. */
export function button(label, action, {kind = 'secondary', title = null, onError = null} = {}) {
  const el = h('button', {type: 'button', class: kind, title});
  el.append(label);
  el.addEventListener('click', async () => {
    el.disabled = true;
    try {
      await action();
    } catch (error) {
      if (onError) onError(error);
      else notice(error.message || String(error), 'error');
    } finally {
      el.disabled = false;
    }
  });
  return el;
}

/**
 * A table: `columns` [{label, value: (row) => string | Node, class}], `rows`. With no rows, the
 * `empty` text (and optional `action`) instead.
 */
export function table({columns, rows, empty = 'Nothing here yet.', action = null, caption = null}) {
  if (!rows || rows.length === 0) return emptyState(empty, action);
  return h('div', {class: 'table-wrap'},
    h('table', {},
      caption ? h('caption', {class: 'visually-hidden'}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', {class: c.class, 'data-label': c.label}, c.value(row))))))));
}

export function emptyState(text, action = null) {
  return h('div', {class: 'empty'}, h('p', {}, text), action);
}

export function loading(text = 'Loading…') {
  return h('p', {class: 'loading', role: 'status'}, text);
}

/** An error that stopped a page or a section from loading. */
export function errorBox(error) {
  return h('div', {class: 'error-box', role: 'alert'}, h('p', {}, error.message || String(error)));
}

/** A titled card. */
export function card(title, ...children) {
  return h('section', {class: 'card'}, title ? h('h2', {}, title) : null, children);
}

/** Previous / next for `skip` and `take` over `total`; `onPage(skip)` loads another page. */
export function pager({skip, take, total, onPage}) {
  const last = skip + take >= total;
  const shown = total === 0 ? '0' : `${skip + 1}–${Math.min(skip + take, total)} of ${total}`;
  return h('nav', {class: 'pager', 'aria-label': 'Pages'},
    h('button', {type: 'button', class: 'secondary', disabled: skip === 0, onclick: () => onPage(Math.max(0, skip - take))}, 'Previous'),
    h('span', {}, shown),
    h('button', {type: 'button', class: 'secondary', disabled: last, onclick: () => onPage(skip + take)}, 'Next'));
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(message, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const dialog = h('dialog', {class: 'dialog', 'aria-label': confirmLabel});
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.append(
      h('p', {}, message),
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'secondary', onclick: () => done(false)}, 'Cancel'),
        h('button', {type: 'button', class: 'danger', onclick: () => done(true)}, confirmLabel)));
    dialog.addEventListener('cancel', () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A short message at the top of the page (announced to screen readers). */
export function notice(message, kind = 'success') {
  const region = document.getElementById('notices');
  if (!region) return;
  const item = h('div', {class: `notice ${kind}`}, message);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}
