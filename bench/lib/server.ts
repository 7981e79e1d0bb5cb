import type { FakeReply } from 'test/fakes/scripted-http-server';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** What a process reports right after a collection (gc-on-signal.ts). */
export interface MemorySample {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rssKb: number;
}

export interface ServiceProcess {
  url: string;
  pid: number;
  rssKb(): number;
  /** A full GC in the process (SIGUSR2, see gc-on-signal.ts), then a short settle. */
  collectGarbage(): Promise<void>;
  /**
   * A full GC (or, `reduce`, a memory-reducing one), and the process's own figures taken right after it.
   * Only for the processes started with a sample file (the service and the bare SSE server).
   */
  sampleMemory(mode?: 'regular' | 'reduce'): Promise<MemorySample>;
  stop(): Promise<void>;
}

const GC_PRELOAD = ['--expose-gc', '--require', join(__dirname, 'gc-on-signal.js')];
const rssOf = (pid: number | undefined) => () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const gcOf = (child: ChildProcess) => async () => {
  child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 1000));
};

/** A file for a process's memory samples (passed to it as BENCH_MEM_OUT). */
const memoryFile = (): string => join(mkdtempSync(join(tmpdir(), 'bench-mem-')), 'mem.json');

/** Asks the process for a sample (gc-on-signal.ts) and waits for the file. */
const sampleMemoryOf =
  (child: ChildProcess, out: string) =>
  async (mode: 'regular' | 'reduce' = 'regular'): Promise<MemorySample> => {
    rmSync(out, { force: true });
    writeFileSync(`${out}.mode`, mode);
    child.kill('SIGUSR2');
    // A full GC of a heap holding 10,000 streams takes a while on a loaded machine: wait for the file.
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        return JSON.parse(readFileSync(out, 'utf8')) as MemorySample;
      } catch {
        /* not written (completely) yet */
      }
    }
    throw new Error('the process wrote no memory sample within 60 s');
  };

const noSampler = (): Promise<MemorySample> =>
  Promise.reject(new Error('this process was started without a memory sample file'));

/** What `npm run start:prod` and the Dockerfile run the service with (package.json): the bench measures that. */
const PRODUCTION_NODE_ARGS = ['--max-semi-space-size=4'];
const PRODUCTION_GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072';

/**
 * Node flags for the service: the production ones, plus extra ones, e.g. BENCH_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof" to profile it. BENCH_PRODUCTION_FLAGS=0 leaves the production ones out.
 */
const nodeArgs = (): string[] => [
  ...(process.env.BENCH_PRODUCTION_FLAGS === '0' ? [] : PRODUCTION_NODE_ARGS),
  ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
];

/** Starts the built service (dist/src/main.js) as its own process, so its memory is measured alone. */
export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-data-'));
  // The service's log (warnings and errors) goes to a file named on stderr, kept when the service dies.
  const logPath = join(mkdtempSync(join(tmpdir(), 'bench-log-')), 'service.log');
  const log = openSync(logPath, 'a');
  const memOut = memoryFile();
  const child: ChildProcess = spawn(
    process.execPath,
    [...GC_PRELOAD, ...nodeArgs(), join(__dirname, '..', '..', 'src', 'main.js')],
    {
      env: {
        PATH: process.env.PATH ?? '',
        ...(process.env.BENCH_PRODUCTION_FLAGS === '0' ? {} : { GLIBC_TUNABLES: PRODUCTION_GLIBC_TUNABLES }),
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        BENCH_MEM_OUT: memOut,
        ...env,
      },
      stdio: ['ignore', log, log],
    },
  );
  process.stderr.write(`service log: ${logPath}\n`);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(`the service exited during the bench (code ${code}, signal ${signal}); see ${logPath}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/health/ready`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid ?? 0,
    rssKb: rssOf(child.pid),
    collectGarbage: gcOf(child),
    sampleMemory: sampleMemoryOf(child, memOut),
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A minimal node:http SSE server holding idle connections: the memory baseline. */
export async function startIdleSseBaseline(): Promise<ServiceProcess> {
  const port = await freePort();
  const code = `require('node:http').createServer((q,s)=>{s.writeHead(200,{'content-type':'text/event-stream'});s.flushHeaders();s.write(': ok\\n\\n');}).listen(${port},'127.0.0.1')`;
  const memOut = memoryFile();
  const child: ChildProcess = spawn(process.execPath, [...GC_PRELOAD, '-e', code], {
    stdio: 'ignore',
    env: { ...process.env, BENCH_MEM_OUT: memOut },
  });
  await new Promise((r) => setTimeout(r, 500));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    rssKb: rssOf(child.pid),
    collectGarbage: gcOf(child),
    sampleMemory: sampleMemoryOf(child, memOut),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The node:http relay (relay.ts) in its own process, so that its CPU is read from /proc like the service's. */
export async function startRelayProcess(upstreamBase: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...GC_PRELOAD, join(__dirname, 'relay-main.js'), upstreamBase], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`relay exited (${code})`)));
  });
  child.disconnect();
  return {
    url,
    pid: child.pid ?? 0,
    rssKb: rssOf(child.pid),
    collectGarbage: gcOf(child),
    sampleMemory: noSampler,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

export interface UpstreamProcess {
  /** Base URL (append /v1 for an OpenAI client). */
  url: string;
  pid: number;
  /** Forgets recorded requests and answers every request with `reply`. */
  set(reply: FakeReply): Promise<void>;
  /** The most messages one request carried since the last `set`. */
  maxMessages(): Promise<number>;
  stop(): Promise<void>;
}

/** The fake OpenAI-compatible upstream (test/fakes) in its own process: see upstream-main.ts. */
export async function startUpstreamProcess(): Promise<UpstreamProcess> {
  const child = spawn(process.execPath, [join(__dirname, 'upstream-main.js')], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onMessage = (m: { url?: string }) => {
      if (m.url) {
        child.off('message', onMessage);
        resolve(m.url);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`upstream exited (${code})`)));
  });
  let next = 0;
  const call = <T>(msg: Record<string, unknown>) =>
    new Promise<T>((resolve) => {
      const id = ++next;
      const onMessage = (m: { id?: number } & T) => {
        if (m.id === id) {
          child.off('message', onMessage);
          resolve(m);
        }
      };
      child.on('message', onMessage);
      child.send({ id, ...msg });
    });
  return {
    url,
    pid: child.pid ?? 0,
    set: async (reply) => {
      await call({ set: reply });
    },
    maxMessages: async () => (await call<{ maxMessages: number }>({ maxMessages: true })).maxMessages,
    stop: async () => {
      child.disconnect();
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    },
  };
}
