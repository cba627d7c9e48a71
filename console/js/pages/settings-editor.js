// A free-form settings object (contract section 10) shown as JSON text, and edited as JSON in a
// textarea by those who may write it. Used by the organization page (GET and POST
// /settings/organization) and the account page (/settings/user). Saving replaces the whole
// object (POST {settings}), so a key deleted in the text is deleted on the server too; a PUT
// would deep-merge and keep it.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {form, loading, errorBox, notice} from '../ui.js';

/** Parses the text of the textarea: a JSON object, or an Error that says what is wrong. */
export function parseSettings(text) {
  const source = text.trim() === '' ? '{}' : text;
  let value;
  try {
    value = JSON.parse(source);
  } catch (error) {
    throw new Error(`This is not valid JSON: ${error.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('The settings must be a JSON object, such as {"theme": "dark"}.');
  }
  return value;
}

/**
 * A section body: `path` (/settings/user or /settings/organization), `canWrite`, the textarea's
 * `label`, and `readOnlyNote` for those who may only read.
 */
export function settingsEditor({path, canWrite, label, readOnlyNote}) {
  const box = h('div', {class: 'settings-editor'}, loading());

  async function load() {
    let settings;
    try {
      const answer = await api.get(path);
      settings = answer.settings || {};
    } catch (error) {
      replace(box, errorBox(error));
      return;
    }
    const text = JSON.stringify(settings, null, 2);
    if (!canWrite) {
      replace(box,
        h('pre', {class: 'json-view', 'aria-label': label}, text),
        readOnlyNote ? h('p', {class: 'muted'}, readOnlyNote) : null);
      return;
    }
    const editor = form({
      submit: 'Save settings',
      fields: [{
        name: 'settings', label, type: 'textarea', rows: Math.min(Math.max(text.split('\n').length + 1, 4), 20), value: text,
        help: 'A JSON object. Saving replaces all the settings with this text: remove a key here to remove it.',
      }],
      onSubmit: async (values) => {
        const parsed = parseSettings(values.settings);
        const answer = await api.post(path, {settings: parsed});
        await load();
        notice(answer.message || 'Settings saved.');
      },
    });
    const textarea = editor.inputs.settings;
    textarea.classList.add('json-edit');
    textarea.setAttribute('spellcheck', 'false');
    textarea.setAttribute('autocapitalize', 'off');
    replace(box, editor);
  }

  load();
  return box;
}
