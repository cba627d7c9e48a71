// Runs the console's journeys in a real browser: each journey gets a fresh server (fresh
// database, its own SMTP server) and a fresh browser. `node run.mjs [name ...]` runs some.
// DATABASE=postgres runs them on a new PostgreSQL database (TEST_DATABASE_URL's server).
import fs from 'node:fs';
import path from 'node:path';
import {startSmtp} from './lib/smtp.mjs';
import {startServer} from './lib/server.mjs';
import {launch} from './lib/browser.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const wanted = process.argv.slice(2);
const files = fs.readdirSync(path.join(here, 'journeys')).filter((f) => f.endsWith('.mjs')).sort();

let failed = 0;
const browser = await launch();
for (const file of files) {
  const journey = await import(path.join(here, 'journeys', file));
  const name = file.replace(/\.mjs$/, '');
  if (wanted.length && !wanted.some((w) => name.includes(w))) continue;
  if (process.env.DATABASE === 'postgres' && !journey.onPostgres) continue;
  // A journey may start what the server must know of first (a mock identity provider): its
  // `setup()` answers more server flags and a `close()`.
  const setup = journey.setup ? await journey.setup() : {};
  const smtp = await startSmtp();
  const extra = [...(journey.serverArgs || []), ...(setup.serverArgs || [])];
  const server = await startServer({smtpUrl: smtp.url, extra, host: journey.host});
  const started = Date.now();
  try {
    await journey.run({browser, server, smtp, setup});
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error.stack || error}`);
    console.log(server.log().split('\n').slice(-20).join('\n'));
  } finally {
    await server.stop();
    smtp.close();
    if (setup.close) await setup.close();
  }
}
await browser.close();
if (failed) {
  console.log(`${failed} journey(s) failed`);
  process.exit(1);
}
