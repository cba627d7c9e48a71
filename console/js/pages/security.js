// Two-step sign-in (contract section 8): where the person stands (GET /mfa/status, GET
// /mfa/methods); enrolling an authenticator app (POST /mfa/setup {mfaType: "GOOGLE_AUTH"} gives
// the secret, its QR code and backup codes, shown once; POST /mfa/verify-setup turns it on);
// sign-in links by e-mail (POST /mfa/setup {mfaType: "MAGIC_LINK"} e-mails an activation link);
// enable, disable, primary (POST /mfa/enable|disable|primary); removing everything (POST
// /mfa/reset). Passkeys (contract section 14): listed (GET /mfa/passkeys), added (POST /mfa/setup
// {mfaType: "PASSKEY"}, the browser's navigator.credentials.create, POST
// /mfa/passkey/complete-registration), renamed (PUT /mfa/passkeys/{id}) and removed (DELETE).
import {h, replace, when} from '../dom.js';
import {api} from '../api.js';
import {href} from '../router.js';
import {form, card, table, loading, errorBox, notice, confirmDialog} from '../ui.js';
import {currentUser} from '../session.js';
import {createPasskey, passkeysSupported} from '../webauthn.js';

export const title = 'Two-step sign-in';
export const access = 'user';

const NAMES = {GOOGLE_AUTH: 'Authenticator app', MAGIC_LINK: 'Sign-in link by e-mail', PASSKEY: 'Passkey'};
const nameOf = (type, methods = []) => (methods.find((m) => m.type === type) || {}).name || NAMES[type] || type;

/** The secret in groups of four, easier to type into an app (apps ignore the spaces). */
const grouped = (secret) => String(secret).replace(/(.{4})(?=.)/g, '$1 ');

export async function render(ctx) {
  const statusSlot = h('div', {}, loading());
  const methodsSlot = h('div', {});
  const passkeysSlot = h('div', {});
  const enrolSlot = h('div', {});
  const alert = h('p', {class: 'form-error', role: 'alert', hidden: true});
  let status = null;
  let methods = [];

  const showError = (error) => {
    replace(alert, error.message || String(error));
    alert.hidden = false;
  };

  async function load() {
    try {
      const [s, m] = await Promise.all([api.get('/mfa/status'), api.get('/mfa/methods')]);
      status = s.data || {};
      methods = m.data || [];
    } catch (error) {
      replace(statusSlot, errorBox(error));
      replace(methodsSlot);
      return;
    }
    replace(statusSlot, statusCard());
    replace(methodsSlot, methodsCard());
    await loadPasskeys();
  }

  async function loadPasskeys() {
    const passkeyMethod = methods.find((m) => m.type === 'PASSKEY');
    if (!passkeyMethod || !passkeyMethod.isAvailable) {
      replace(passkeysSlot);
      return;
    }
    if (pending()) {
      replace(passkeysSlot, card('Passkeys', h('p', {}, 'Finish signing in to see and change your passkeys.')));
      return;
    }
    let passkeys;
    try {
      passkeys = (await api.get('/mfa/passkeys')).passkeys || [];
    } catch (error) {
      replace(passkeysSlot, card('Passkeys', errorBox(error)));
      return;
    }
    replace(passkeysSlot, passkeysCard(passkeys));
  }

  /** A button whose action's error goes to the methods card's alert; success reloads. */
  function action(label, run, {kind = 'secondary', aria = null} = {}) {
    const el = h('button', {type: 'button', class: `${kind} small`, 'aria-label': aria});
    el.append(label);
    el.addEventListener('click', async () => {
      alert.hidden = true;
      el.disabled = true;
      try {
        const message = await run();
        if (message === false) return;
        await load();
        currentUser({reload: true}).catch(() => null);
        if (message) notice(message);
      } catch (error) {
        showError(error);
      } finally {
        el.disabled = false;
      }
    });
    return el;
  }

  /** Must this session still pass its second factor (a sign-in waiting at /mfa)? */
  const pending = () => status && status.isRequired && !status.sessionVerified;

  function statusCard() {
    const on = Boolean(status.isEnabled);
    const reset = on ? action('Turn off and remove all methods', async () => {
      const sure = await confirmDialog(
        status.isEnforced
          ? 'Remove every method and backup code? Your organization requires two-step sign-in: you will set up a method again at your next sign-in.'
          : 'Remove every method and backup code? You will sign in with your password alone.',
        'Remove all');
      if (!sure) return false;
      const answer = await api.post('/mfa/reset', {});
      return answer.message || 'Two-step sign-in was reset.';
    }, {kind: 'danger'}) : null;
    return card('Status',
      h('p', {},
        h('span', {class: on ? 'badge success' : 'badge muted'}, on ? 'On' : 'Off'), ' ',
        on
          ? `When you sign in with your password, you also confirm with your ${nameOf(status.primaryMethod, methods).toLowerCase()} (or another method you turned on, or a backup code).`
          : 'You sign in with your password alone. Add a second step below: a stolen password is then not enough.'),
      status.isEnforced ? h('p', {}, h('span', {class: 'badge'}, 'Required'), ' Your organization requires two-step sign-in for everyone.') : null,
      pending() && on ? h('div', {class: 'callout'}, h('p', {}, 'This session has not passed two-step sign-in yet. ', h('a', {href: href('/mfa')}, 'Finish signing in'), ' to change your methods.')) : null,
      reset ? h('div', {class: 'actions'}, reset) : null);
  }

  function actionsFor(method) {
    if (!method.isAvailable) return h('span', {class: 'muted'}, 'Not offered by this server');
    const type = method.type;
    const buttons = [];
    if (!method.isConfigured) {
      if (type === 'GOOGLE_AUTH') buttons.push(action('Set up', () => startTotp(), {kind: 'primary', aria: `Set up ${method.name}`}));
      if (type === 'MAGIC_LINK') buttons.push(action('Send activation e-mail', () => startMagicLink(), {kind: 'primary'}));
      return h('div', {class: 'row-actions'}, buttons);
    }
    if (method.isEnabled) {
      if (status.primaryMethod !== type) {
        buttons.push(action('Make primary', async () => (await api.post('/mfa/primary', {mfaType: type})).message, {aria: `Make ${method.name} primary`}));
      }
      buttons.push(action('Turn off', async () => {
        const last = (status.enabledMethods || []).length <= 1;
        if (last) {
          const sure = await confirmDialog(`Turn off ${method.name}? It is your only method: you will sign in with your password alone.`, 'Turn off');
          if (!sure) return false;
        }
        return (await api.post('/mfa/disable', {mfaType: type})).message;
      }, {aria: `Turn off ${method.name}`}));
    } else {
      buttons.push(action('Turn on', async () => (await api.post('/mfa/enable', {mfaType: type})).message, {kind: 'primary', aria: `Turn on ${method.name}`}));
    }
    if (type === 'GOOGLE_AUTH') {
      buttons.push(action('New key and backup codes', () => startTotp(), {aria: 'Set up the authenticator app again, with new backup codes'}));
    }
    return h('div', {class: 'row-actions'}, buttons);
  }

  function methodsCard() {
    return card('Methods',
      alert,
      table({
        caption: 'Two-step sign-in methods',
        columns: [
          {label: 'Method', value: (m) => h('div', {class: 'name-cell'}, h('span', {}, m.name || nameOf(m.type)), h('span', {class: 'muted'}, m.description || ''))},
          {label: 'Status', value: (m) => h('span', {class: 'badges'},
            !m.isAvailable ? h('span', {class: 'badge muted'}, 'Unavailable') : m.isEnabled ? h('span', {class: 'badge success'}, 'On') : m.isConfigured ? h('span', {class: 'badge muted'}, 'Off') : h('span', {class: 'badge muted'}, 'Not set up'),
            m.isEnabled && status.primaryMethod === m.type ? h('span', {class: 'badge'}, 'Primary') : null)},
          {label: 'Actions', class: 'actions', value: actionsFor},
        ],
        rows: methods,
        empty: 'This server offers no second factor.',
      }));
  }

  function passkeysCard(passkeys) {
    const passkeyAlert = h('p', {class: 'form-error', role: 'alert', hidden: true});
    const renameSlot = h('div', {});
    const failed = (error) => {
      replace(passkeyAlert, error.message || String(error));
      passkeyAlert.hidden = false;
    };
    /** A row's button: its error goes to the card's alert; `false` from `run` reloads nothing. */
    const rowAction = (label, aria, run, kind = 'secondary') => {
      const el = h('button', {type: 'button', class: `${kind} small`, 'aria-label': aria}, label);
      el.addEventListener('click', async () => {
        passkeyAlert.hidden = true;
        el.disabled = true;
        try {
          const message = await run();
          if (message === false) return;
          await load();
          currentUser({reload: true}).catch(() => null);
          if (message) notice(message);
        } catch (error) {
          failed(error);
        } finally {
          el.disabled = false;
        }
      });
      return el;
    };
    const rename = (passkey) => {
      const renameForm = form({
        submit: 'Save name',
        fields: [{name: 'name', label: 'New name', required: true, maxlength: 100, value: passkey.name, autocomplete: 'off'}],
        onSubmit: async ({name}) => {
          const answer = await api.put(`/mfa/passkeys/${encodeURIComponent(passkey.id)}`, {name: name.trim()});
          replace(renameSlot);
          await loadPasskeys();
          notice(answer.message || 'Passkey renamed.');
        },
        extra: h('button', {type: 'button', class: 'link', onclick: () => replace(renameSlot)}, 'Cancel'),
      });
      replace(renameSlot, h('div', {class: 'stack'}, h('h3', {}, `Rename “${passkey.name}”`), renameForm));
      renameForm.inputs.name.focus();
      renameForm.inputs.name.select();
      return false;
    };
    const list = table({
      caption: 'Your passkeys',
      columns: [
        {label: 'Name', value: (p) => h('span', {class: 'passkey-name'}, p.name)},
        {label: 'Added', value: (p) => when(p.createdAt)},
        {label: 'Last used', value: (p) => (p.lastUsedAt ? when(p.lastUsedAt) : 'Never')},
        {label: 'Actions', class: 'actions', value: (p) => h('div', {class: 'row-actions'},
          rowAction('Rename', `Rename passkey ${p.name}`, async () => rename(p)),
          rowAction('Remove', `Remove passkey ${p.name}`, async () => {
            const sure = await confirmDialog(`Remove the passkey “${p.name}”? It can no longer sign you in.`, 'Remove passkey');
            if (!sure) return false;
            return (await api.delete(`/mfa/passkeys/${encodeURIComponent(p.id)}`)).message || 'Passkey removed.';
          }, 'danger'))},
      ],
      rows: passkeys,
      empty: 'No passkeys yet.',
    });
    const add = form({
      submit: 'Add a passkey',
      fields: [{name: 'name', label: 'Passkey name', maxlength: 100, autocomplete: 'off', placeholder: 'Work laptop',
        help: 'A name to tell your passkeys apart. Your browser then asks you to create the passkey.'}],
      onSubmit: async ({name}, element) => {
        const setup = await api.post('/mfa/setup', {mfaType: 'PASSKEY'});
        const data = setup.data || {};
        const credential = await createPasskey(data.options);
        const body = {credential, challenge: data.challenge};
        if (name.trim()) body.name = name.trim();
        const answer = await api.post('/mfa/passkey/complete-registration', body);
        element.reset();
        await load();
        currentUser({reload: true}).catch(() => null);
        notice(answer.message || 'Passkey added.');
      },
    });
    return h('section', {class: 'card', 'aria-labelledby': 'passkeys-title'},
      h('div', {class: 'card-head'}, h('h2', {id: 'passkeys-title'}, 'Passkeys')),
      h('p', {}, 'A passkey signs you in with your device’s screen lock or a security key: alone, from the sign-in page, or as the second step after your password.'),
      passkeyAlert,
      h('div', {class: 'stack'},
        list,
        renameSlot,
        passkeysSupported()
          ? add
          : h('p', {class: 'muted'}, 'This browser cannot create passkeys here (passkeys need a secure page: https, or localhost).')));
  }

  async function startMagicLink() {
    const answer = await api.post('/mfa/setup', {mfaType: 'MAGIC_LINK'});
    replace(enrolSlot, card('Check your e-mail',
      h('p', {}, `We sent an activation link to ${ctx.user.email}. Open it within 10 minutes to turn on sign-in links by e-mail.`),
      h('p', {class: 'muted'}, answer.message || ''),
      h('div', {class: 'actions'}, h('button', {type: 'button', class: 'secondary', onclick: () => { replace(enrolSlot); load(); }}, 'Done'))));
    enrolSlot.scrollIntoView({block: 'start'});
    return false;
  }

  async function startTotp() {
    const answer = await api.post('/mfa/setup', {mfaType: 'GOOGLE_AUTH'});
    const data = answer.data || {};
    replace(enrolSlot, totpCard(data));
    enrolSlot.scrollIntoView({block: 'start'});
    return false;
  }

  function totpCard(data) {
    const codes = data.backupCodes || [];
    const qr = typeof data.qrCode === 'string' && data.qrCode.startsWith('data:image/')
      ? h('img', {src: data.qrCode, alt: 'QR code that adds this account to an authenticator app', width: 192, height: 192})
      : null;

    const verifyStep = h('li', {class: 'step', hidden: true});
    const codesStep = h('li', {class: 'step'});

    const fields = [{name: 'code', label: 'Code', required: true, inputmode: 'numeric', autocomplete: 'one-time-code', help: 'The 6-digit code the app shows now.'}];
    if (pending() && !status.isEnabled) {
      fields.push({name: 'emailCode', label: 'Code from the e-mail', inputmode: 'numeric', autocomplete: 'off',
        help: 'This sign-in has not passed a second step yet, so we also e-mailed you a code to prove the mailbox is yours.'});
    }
    const verify = form({
      submit: 'Verify and turn on',
      fields,
      onSubmit: async (values) => {
        const body = {mfaType: 'GOOGLE_AUTH', code: values.code.replace(/\s+/g, '')};
        if (values.emailCode) body.emailCode = values.emailCode.replace(/\s+/g, '');
        await api.post('/mfa/verify-setup', body);
        replace(enrolSlot);
        await load();
        currentUser({reload: true}).catch(() => null);
        notice('Two-step sign-in with your authenticator app is on.');
      },
    });

    const saved = h('button', {type: 'button', class: 'primary'}, 'I have saved them');
    saved.addEventListener('click', () => {
      // The codes leave the page for good: they are shown once.
      replace(codesStep, h('h3', {}, 'Backup codes saved'), h('p', {class: 'muted'}, 'They are not shown again. Each one signs you in once.'));
      verifyStep.hidden = false;
      verify.inputs.code.focus();
    });
    const text = `Workspaces backup codes for ${ctx.user.email}\nEach code works once.\n\n${codes.join('\n')}\n`;
    const download = h('a', {class: 'button secondary', download: 'workspaces-backup-codes.txt', href: URL.createObjectURL(new Blob([text], {type: 'text/plain'}))}, 'Download');
    const copy = h('button', {type: 'button', class: 'secondary', onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        notice('Backup codes copied.');
      } catch {
        notice('This browser did not allow copying: select the codes and copy them, or download them.', 'error');
      }
    }}, 'Copy');

    replace(codesStep,
      h('h3', {}, 'Save your backup codes'),
      h('div', {class: 'callout'}, h('p', {}, 'Each backup code signs you in once when you do not have your app. They are shown only now: keep them somewhere safe, such as a password manager.')),
      h('ol', {class: 'backup-codes', 'aria-label': 'Backup codes'}, codes.map((c) => h('li', {}, h('code', {}, c)))),
      h('div', {class: 'actions'}, copy, download, saved));
    replace(verifyStep, h('h3', {}, 'Enter a code from the app'), verify);

    return h('section', {class: 'card', 'aria-labelledby': 'totp-title'},
      h('div', {class: 'card-head'}, h('h2', {id: 'totp-title'}, 'Set up an authenticator app')),
      h('ol', {class: 'steps'},
        h('li', {class: 'step'},
          h('h3', {}, 'Add this account to your app'),
          h('div', {class: 'qr-block'}, qr,
            h('div', {class: 'qr-block-text'},
              h('p', {}, 'Scan the QR code with an authenticator app (such as Google Authenticator, Aegis or 1Password). Cannot scan it? Enter this key:'),
              h('code', {class: 'totp-key', 'aria-label': 'Secret key'}, grouped(data.secret || '')),
              data.otpauthUrl ? h('p', {}, h('a', {href: data.otpauthUrl}, 'Open in an authenticator app on this device')) : null))),
        codesStep,
        verifyStep),
      h('div', {class: 'actions'}, h('button', {type: 'button', class: 'link', onclick: () => replace(enrolSlot)}, 'Cancel setup')));
  }

  await load();
  return h('div', {class: 'stack'},
    h('p', {class: 'intro'}, h('a', {href: href('/account')}, '← Account'), ' · ', h('a', {href: href('/account/sessions')}, 'Sessions and devices')),
    statusSlot,
    enrolSlot,
    methodsSlot,
    passkeysSlot);
}
