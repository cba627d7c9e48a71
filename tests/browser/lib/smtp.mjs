// A minimal SMTP server for the journeys: accepts every message and keeps it, so a journey can
// open the link an e-mail carries (as a person would).
import net from 'node:net';

export async function startSmtp() {
  const messages = [];
  const waiters = [];
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let data = '';
    socket.write('220 journeys ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let at;
      while ((at = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(decode(data));
            data = '';
            socket.write('250 queued\r\n');
            for (const waiter of waiters.splice(0)) waiter();
          } else {
            data += `${line.startsWith('..') ? line.slice(1) : line}\n`;
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 journeys\r\n');
        else if (verb === 'DATA') { inData = true; socket.write('354 go ahead\r\n'); }
        else if (verb === 'QUIT') { socket.write('221 bye\r\n'); socket.end(); }
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${server.address().port}`,
    messages,
    /** The last message to `address` whose text matches `pattern`, waiting up to 10 s. */
    async waitFor(address, pattern = /./) {
      const deadline = Date.now() + 10000;
      for (;;) {
        const found = messages.filter((m) => m.to.includes(address.toLowerCase()) && pattern.test(m.text)).pop();
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no e-mail to ${address} matching ${pattern} (got ${messages.map((m) => m.subject).join(', ')})`);
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 200); });
      }
    },
    close: () => server.close(),
  };
}

/** Headers and text of a message, quoted-printable soft breaks undone. */
function decode(raw) {
  const [head, ...rest] = raw.split('\n\n');
  let text = rest.join('\n\n');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    text = text.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  }
  const header = (name) => {
    const match = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
    return match ? match[1].trim() : '';
  };
  return {to: header('To').toLowerCase(), subject: header('Subject'), text};
}

/** The first console link in an e-mail (`Or open: ...` or `Activation link: ...`). */
export function linkIn(message) {
  const match = /(https?:\/\/\S+\/console\/\S+)/.exec(message.text);
  if (!match) throw new Error(`no console link in: ${message.text}`);
  return match[1];
}
