import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { DrainService } from 'src/common/drain/drain.service';

/** One step of the shutdown, with its duration (logged, and returned for tests). */
export interface ShutdownPhase {
  name: 'drain' | 'http' | 'close';
  ms: number;
  detail?: string;
}

export interface ShutdownReport {
  totalMs: number;
  /** Phases finished so far, in order. */
  phases: ShutdownPhase[];
  /** The phase running now (while the shutdown is in progress), for the forced-exit message. */
  current?: ShutdownPhase['name'];
}

/** Share of the budget the HTTP phase may take before the connections still open are destroyed. */
const HTTP_SHARE = 0.1;

/**
 * The bounded graceful shutdown of a listening app, in this order:
 * 1. **keep-alive off**: from now on every response carries `Connection: close` and the idle keep-alive
 *    connections are closed, so a load balancer (nginx keeps a pool of connections to each upstream) stops
 *    sending new requests on this instance's connections. Without it `server.close()` cannot finish under
 *    continuous load: Node keeps serving (with `Connection: keep-alive`) requests arriving on connections
 *    open before `close()`, and a client that keeps reusing them holds the close until the forced-exit
 *    deadline (reproduced in test/e2e/graceful-shutdown.e2e-spec.ts; docs/reliability.md, "Shutdown
 *    within its budget");
 * 2. **drain** (`DrainService.begin`): readiness 503, open streams told to reconnect, tracked work awaited
 *    (at most `DRAIN_SHARE`, 60 %, of the budget);
 * 3. **http**: stop listening, close idle connections, wait for the requests in flight to end (at most
 *    10 % of the budget), then destroy what is still open;
 * 4. **close** (`app.close()`): Nest's hooks (jobs stopped, queues flushed, Redis and the database
 *    closed); the rest of the budget.
 * Each phase is timed in `report` (filled as it goes, so a forced exit can say where it stood); the caller
 * logs it.
 */
export async function shutdownGracefully(
  app: INestApplication,
  budgetMs: number,
  report: ShutdownReport = { totalMs: 0, phases: [] },
): Promise<ShutdownReport> {
  const started = Date.now();
  const server = app.getHttpServer() as Server;
  const timed = async (name: ShutdownPhase['name'], run: () => Promise<string | undefined | void>) => {
    const t0 = Date.now();
    report.current = name;
    const detail = (await run()) ?? undefined;
    report.phases.push({ name, ms: Date.now() - t0, ...(detail ? { detail } : {}) });
    report.totalMs = Date.now() - started;
  };

  stopKeepAlive(server);
  const drain = app.get(DrainService);
  await timed('drain', async () => {
    const before = drain.inFlightCount();
    await drain.begin();
    const left = drain.inFlightCount();
    return `${before} task(s) in flight at start${left ? `, ${left} abandoned` : ''}`;
  });
  await timed('http', () => closeHttp(server, Math.floor(budgetMs * HTTP_SHARE)));
  await timed('close', async () => {
    await app.close();
  });
  report.current = undefined;
  return report;
}

/** Formats a report for the log: `drain 812 ms (3 task(s) in flight at start), http 4 ms (…), close 95 ms`. */
export function describeShutdown(report: ShutdownReport): string {
  const done = report.phases.map((p) => `${p.name} ${p.ms} ms${p.detail ? ` (${p.detail})` : ''}`);
  return [...done, ...(report.current ? [`${report.current} still running`] : [])].join(', ');
}

function stopKeepAlive(server: Server): void {
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    // Node then ends the connection once this response is sent.
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  server.closeIdleConnections();
}

/** Stops listening and waits for the connections in flight, at most `waitMs`; then destroys the rest. */
async function closeHttp(server: Server, waitMs: number): Promise<string> {
  const open = await connections(server);
  if (!server.listening) return `${open} connection(s) open, not listening`;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), waitMs);
    }),
  ]);
  clearTimeout(timer);
  if (!timedOut) return `${open} connection(s) open at close`;
  const destroyed = await connections(server);
  server.closeAllConnections();
  await closed;
  return `${open} connection(s) open at close, ${destroyed} destroyed after ${waitMs} ms`;
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? -1 : n)));
}
