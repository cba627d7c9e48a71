// The server under test: the workspaces binary on a fresh database (a SQLite file in a temporary
// folder, or a new PostgreSQL database when DATABASE=postgres), on a free port, its e-mail going
// to the journeys' SMTP server.
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

function binary() {
  if (process.env.WORKSPACES_BIN) return process.env.WORKSPACES_BIN;
  // The newer of the release and debug builds.
  const built = ['release', 'debug']
    .map((profile) => path.join(ROOT, 'target', profile, 'workspaces'))
    .filter((candidate) => fs.existsSync(candidate))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (built.length === 0) throw new Error('no workspaces binary: run cargo build first, or set WORKSPACES_BIN');
  return built[0];
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A fresh database URL, and how to drop it afterwards. */
function freshDatabase(dir) {
  if (process.env.DATABASE !== 'postgres') {
    return {url: `sqlite://${path.join(dir, 'workspaces.db')}`, drop: () => {}};
  }
  const base = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const name = `journeys_${process.pid}_${Date.now()}`;
  execFileSync('psql', [base, '-qc', `CREATE DATABASE ${name}`]);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {url: url.toString(), drop: () => execFileSync('psql', [base, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`])};
}

/**
 * Starts a server; `extra` are more `serve` flags. Resolves once it listens. `host` names the
 * server in its public URL and `base` (it listens on 127.0.0.1 either way): `localhost` for a
 * journey with passkeys, whose relying party id must be a domain, never an IP address.
 */
export async function startServer({smtpUrl, extra = [], host = '127.0.0.1'}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journeys-'));
  const database = freshDatabase(dir);
  const port = await freePort();
  const base = `http://${host}:${port}`;
  const args = [
    '--database-url', database.url, 'serve', '--listen', `127.0.0.1:${port}`,
    '--public-url', base, '--smtp-url', smtpUrl, '--rate-limit-per-ip', '0',
    '--rate-limit-per-account', '0', ...extra,
  ];
  const child = spawn(binary(), args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, RUST_LOG: 'warn'}});
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${log}`)), 30000);
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${log}`)); });
  });
  return {
    base,
    databaseUrl: database.url,
    /** Runs `workspaces ARGS` on this server's database (e.g. `admin grant EMAIL`). */
    cli: (...more) => execFileSync(binary(), ['--database-url', database.url, ...more], {encoding: 'utf8'}),
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => { if (child.exitCode !== null) resolve(); else child.on('exit', resolve); });
      database.drop();
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
