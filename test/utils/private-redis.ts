import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** Whether a `redis-server` binary is on the PATH (tests that need their own server skip visibly without it). */
export const hasRedisServer = (): boolean => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** A free loopback TCP port (the OS picks it; released before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own, without persistence (`--save '' --appendonly no`): a restart comes
 * back empty, and a FLUSHALL or restart never touches the shared Redis other suites use.
 */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await this.waitUntil(true);
  }

  /** SIGKILL, then start again on the same port: the data is gone. */
  async restart(downMs = 200): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  /** Runs one command on a short-lived connection. */
  async command<T = unknown>(...args: string[]): Promise<T> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      return (await c.call(args[0], ...args.slice(1))) as T;
    } finally {
      c.disconnect();
    }
  }

  private async waitUntil(up: boolean): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const ok = await this.command('PING').then(
        () => true,
        () => false,
      );
      if (ok === up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${this.port} did not ${up ? 'start' : 'stop'}`);
  }
}
