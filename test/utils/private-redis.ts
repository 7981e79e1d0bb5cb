import { ChildProcess, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** A free loopback port (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('PONG')) done(true);
    });
    s.on('error', () => done(false));
  });
}

/**
 * A Redis server of this test only (`redis-server --port <port> --save ''`), so that a test can stop and
 * restart it without touching the machine's shared Redis.
 */
export class PrivateRedis {
  private proc: ChildProcess | null = null;

  constructor(readonly port: number) {}

  static available(): boolean {
    try {
      return require('node:child_process').spawnSync('redis-server', ['--version']).status === 0;
    } catch {
      return false;
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server unless this object already runs one. */
  async start(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) return;
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await answersPing(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  /** SIGKILL: the connection drops as if the host went away. Waits until the port is closed. */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
}
