import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
/** The Node running this test (the pinned Node 24 under npm scripts). */
const NODE = process.execPath;

export interface ServiceProcess {
  proc: ChildProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the real service (src/main.ts, compiled on the fly by scripts/run-ts.js) as a child process
 * with exactly `env` (plus PATH), and waits until it logs that it listens. Rejects with the output when
 * it exits first or does not listen within `timeoutMs`.
 */
/** Every child started here, so a test that timed out can still stop what it started (`stopAllServiceProcesses`). */
const started = new Set<ChildProcess>();

export function startServiceProcess(env: Record<string, string>, timeoutMs = 200_000): Promise<ServiceProcess> {
  const proc = spawn(NODE, [join(ROOT, 'scripts', 'run-ts.js'), join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  proc.once('exit', () => started.delete(proc));
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('exit', (code, signal) => r({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the service did not listen within ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const check = () => {
      const m = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout.off('data', check);
      const port = Number(m[1]);
      resolve({ proc, port, url: `http://127.0.0.1:${port}`, output: () => out, exited });
    };
    proc.stdout.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the service exited (code ${code}, signal ${signal}) before listening:\n${out.slice(-4000)}`));
    });
  });
}

/** Whether a process with this PID runs (zombies count as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** SIGTERM to every child still running (graceful: each stops its embedded PostgreSQL), then waits for them. */
export async function stopAllServiceProcesses(): Promise<void> {
  await Promise.all(
    [...started].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
        }),
    ),
  );
}
