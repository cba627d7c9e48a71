// `/console/mfa`: the second step of signing in, for a pending session (the login answered
// `mfaRequired: true`, contract section 8). A code from the authenticator app or a backup code
// (POST /mfa/verify-login, GOOGLE_AUTH: the API tells them apart), or a sign-in link by e-mail
// (POST /mfa/magic-link/send; the link opens /console/magic-link, which hands its token to this
// tab when it is another one). When the organization requires MFA of someone who has no method
// yet, an authenticator app is enrolled here (the TOTP code and the code e-mailed at setup).
// With passkeys on, a passkey (POST /mfa/passkey/auth-options, the browser's prompt, POST
// /mfa/verify-login with PASSKEY). Public: a pending session counts as signed out everywhere else.
import {h, replace} from '../dom.js';
import {api, hasSession, signOut, startSession, endSession, ApiError} from '../api.js';
import {href} from '../router.js';
import {form, card, button, errorBox} from '../ui.js';
import {forgetUser} from '../session.js';
import {getPasskey, passkeysSupported} from '../webauthn.js';

export const title = 'Two-step verification';
export const access = 'public';

export const PENDING_KEY = 'workspaces.mfaPending';
/** The channel the sign-in link's page uses to hand its token to the tab that waits for it. */
export const CHANNEL = 'workspaces.magic-link';

/** The API's lockout message (429), with what it means for the person. */
export function explainLockout(error) {
  if (error instanceof ApiError && error.status === 429) {
    const said = error.message.replace(/\.?$/, '.');
    return new Error(`${said} Too many wrong codes in a row lock this step for up to 15 minutes: wait, then try again.`);
  }
  return error;
}

function signInAgain(message) {
  sessionStorage.removeItem(PENDING_KEY);
  return h('div', {class: 'narrow stack'},
    errorBox(new Error(message)),
    h('p', {}, h('a', {class: 'button primary', href: href('/signin')}, 'Sign in')));
}

export async function render(ctx) {
  if (!hasSession()) {
    return signInAgain('There is no sign-in waiting for a second step in this tab. Sign in first.');
  }
  let status;
  let methods;
  try {
    [status, methods] = await Promise.all([api.get('/mfa/status'), api.get('/mfa/methods')]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      endSession();
      forgetUser();
      return signInAgain('This sign-in has expired (it lasts 15 minutes, and only in the tab where it started). Sign in again.');
    }
    throw error;
  }
  if (status.data && (status.data.sessionVerified || !status.data.isRequired)) {
    sessionStorage.removeItem(PENDING_KEY);
    forgetUser();
    ctx.navigate('/workspaces', {replace: true});
    return document.createTextNode('');
  }

  const root = h('div', {class: 'narrow stack'});
  let channel = null;
  const finished = (answer) => {
    if (channel) channel.close();
    if (answer) startSession(answer);
    sessionStorage.removeItem(PENDING_KEY);
    forgetUser();
    ctx.navigate('/workspaces', {replace: true});
  };

  const enabled = (methods.data || []).filter((m) => m.isEnabled).map((m) => m.type);
  if (enabled.includes('GOOGLE_AUTH')) {
    const verify = form({
      submit: 'Verify',
      fields: [{name: 'code', label: 'Code', required: true, autocomplete: 'one-time-code', maxlength: 64,
        help: 'The 6-digit code your authenticator app shows, or one of your backup codes.'}],
      onSubmit: async ({code}) => {
        let answer;
        try {
          answer = await api.post('/mfa/verify-login', {mfaType: 'GOOGLE_AUTH', code: code.trim()}, {retry: false});
        } catch (error) {
          throw explainLockout(error);
        }
        finished(answer);
      },
    });
    verify.inputs.code.setAttribute('autofocus', '');
    root.append(h('p', {}, 'Your account asks for a second step. Enter a code from your authenticator app.'), verify);
  }
  if (enabled.includes('PASSKEY') && passkeysSupported()) {
    const said = h('p', {role: 'alert', class: 'form-error', hidden: true});
    const usePasskey = button('Use a passkey', async () => {
      said.hidden = true;
      const options = await api.post('/mfa/passkey/auth-options', undefined, {retry: false});
      const credential = await getPasskey(options.data);
      let answer;
      try {
        answer = await api.post('/mfa/verify-login', {mfaType: 'PASSKEY', credential}, {retry: false});
      } catch (error) {
        throw explainLockout(error);
      }
      finished(answer);
    }, {kind: enabled.includes('GOOGLE_AUTH') ? 'secondary' : 'primary', onError: (error) => { replace(said, error.message || String(error)); said.hidden = false; }});
    root.append(card(enabled.includes('GOOGLE_AUTH') ? 'Or with a passkey' : 'With a passkey',
      h('div', {class: 'stack'}, h('p', {}, 'Confirm with a passkey of this account: your browser asks for it.'), h('div', {class: 'actions'}, usePasskey), said)));
  } else if (enabled.includes('PASSKEY')) {
    root.append(h('p', {class: 'muted'}, 'Your account also has a passkey, but this browser cannot use passkeys here.'));
  }
  if (enabled.includes('MAGIC_LINK')) {
    const said = h('p', {role: 'status', class: 'muted'});
    const send = button('Send me a sign-in link', async () => {
      await api.post('/mfa/magic-link/send', undefined, {retry: false});
      replace(said, 'We e-mailed you a sign-in link (it works once, for 10 minutes). Open it in this browser: this tab then finishes signing you in.');
      if (!channel && 'BroadcastChannel' in window) {
        channel = new BroadcastChannel(CHANNEL);
        channel.onmessage = async (event) => {
          if (!root.isConnected) { channel.close(); return; }
          const token = event.data && event.data.token;
          if (!token) return;
          try {
            const answer = await api.post('/mfa/verify-login', {mfaType: 'MAGIC_LINK', token}, {retry: false});
            channel.postMessage({done: true});
            finished(answer);
          } catch (error) {
            const {message} = explainLockout(error);
            channel.postMessage({error: message});
            replace(said, message);
          }
        };
      }
    }, {kind: enabled.includes('GOOGLE_AUTH') ? 'secondary' : 'primary', onError: (error) => replace(said, error.message)});
    root.append(card(enabled.includes('GOOGLE_AUTH') ? 'Or by e-mail' : 'By e-mail', h('div', {class: 'stack'}, h('div', {class: 'actions'}, send), said)));
  }
  if (!['GOOGLE_AUTH', 'MAGIC_LINK', 'PASSKEY'].some((m) => enabled.includes(m))) {
    root.append(enrol(finished));
  }
  root.append(h('p', {class: 'aside'}, h('button', {type: 'button', class: 'link', onclick: async () => {
    if (channel) channel.close();
    sessionStorage.removeItem(PENDING_KEY);
    await signOut();
    forgetUser();
    ctx.navigate('/signin', {replace: true});
  }}, 'Cancel and sign out')));
  return root;
}

/**
 * Your organization requires MFA and you have no method yet: an authenticator app, proven with
 * one of its codes and the code the setup e-mails (a password alone never reaches a session).
 */
function enrol(finished) {
  const area = h('div', {class: 'stack'});
  const start = button('Set up an authenticator app', async () => {
    const answer = await api.post('/mfa/setup', {mfaType: 'GOOGLE_AUTH'}, {retry: false});
    const data = answer.data || {};
    const confirm = form({
      submit: 'Verify',
      fields: [
        {name: 'code', label: 'Code', required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6, help: 'The 6-digit code the app shows for this account.'},
        {name: 'emailCode', label: 'E-mailed code', required: true, autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6, help: 'We just e-mailed you a 6-digit code: it proves the mailbox is yours.'},
      ],
      onSubmit: async ({code, emailCode}) => {
        try {
          await api.post('/mfa/verify-setup', {mfaType: 'GOOGLE_AUTH', code: code.trim(), emailCode: emailCode.trim()}, {retry: false});
        } catch (error) {
          throw explainLockout(error);
        }
        finished(null);
      },
    });
    replace(area,
      h('p', {}, 'Scan this QR code with your authenticator app, or type the key.'),
      data.qrCode ? h('img', {class: 'qr', src: data.qrCode, alt: 'QR code of the key for your authenticator app', width: 200, height: 200}) : null,
      h('p', {}, 'Key: ', h('code', {class: 'secret'}, data.secret || '')),
      (data.backupCodes || []).length ? h('div', {},
        h('p', {}, 'Backup codes: each works once instead of a code, and they are shown only now. Keep them somewhere safe.'),
        h('ul', {class: 'codes'}, data.backupCodes.map((c) => h('li', {}, h('code', {}, c))))) : null,
      confirm);
    confirm.inputs.code.focus();
  }, {kind: 'primary', onError: (error) => replace(area, errorBox(error), start)});
  area.append(h('p', {}, 'Your organization requires a second step when you sign in, and your account has none yet.'), start);
  return card('Set up two-step verification', area);
}
