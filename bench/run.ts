import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';
import { histogramTotals, HistogramTotals, sampleValue, scrape } from 'bench/lib/metrics';
import { startRelay } from 'bench/lib/relay';
import { startIdleSseBaseline, startService, ServiceProcess } from 'bench/lib/server';
import { timeStream, StreamTiming } from 'bench/lib/sse-client';
import { ms, percentile, table } from 'bench/lib/stats';

/**
 * Chat streaming benchmark (issue 5). Everything is compared, in the same run, with calling the fake
 * upstream directly and with a minimal node:http relay of it. Prints tables; asserts nothing.
 *   npm run bench                 # embedded PostgreSQL
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench BENCH_REDIS_URL=redis://127.0.0.1:6379 npm run bench
 * Options: BENCH_LEVELS=1,10,50,200  BENCH_STALL_LEVELS=128,256,512,768,1024  BENCH_IDLE=10000
 *          BENCH_MIN_SAMPLES=20 (time to first delta: each level runs ceil(this / level) rounds, so that a
 *          low level still gives enough samples for a percentile)
 *          BENCH_SECTIONS=ttft,writes,stall,idle (run only some sections)
 * Database writes per reply come from the service's `chat_backend_chat_reply_db_writes` histogram
 * (`/metrics`, read with the METRICS_TOKEN the bench gives the service).
 */
const DELTAS = 64;
const DELTA_MS = 20;
const STALL_MS = 200;
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const LEVELS = list(process.env.BENCH_LEVELS, [1, 10, 50, 200]);
const STALL_LEVELS = list(process.env.BENCH_STALL_LEVELS, [128, 256, 512, 768, 1024]);
const IDLE = Number(process.env.BENCH_IDLE ?? 10000);
const MIN_SAMPLES = Number(process.env.BENCH_MIN_SAMPLES ?? 20);
/** Sections to run (default all): ttft, writes, stall, idle. */
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'ttft,writes,stall,idle').split(',').map((x) => x.trim()));
/** Replies of the database-writes section: deltas and the gap between them. */
const WRITE_CASES = [
  // Same duration (~2.5 s), 100× the deltas: the writes follow time and size, not the number of deltas.
  { deltas: 10, delayMs: 250 },
  { deltas: 1000, delayMs: 2.5 },
  // A short reply: only the final write.
  { deltas: 10, delayMs: 20 },
];
const DB_WRITES_METRIC = 'chat_backend_chat_reply_db_writes';
const METRICS_TOKEN = randomBytes(18).toString('base64url');

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const isOpenAiDelta = (_e: string | null, d: string) => d.startsWith('{') && d.includes('"content":"') && !d.includes('"content":""');
const isDone = (_e: string | null, d: string) => d === '[DONE]';
const upstreamBody = { model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] };

async function api<T>(base: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${r.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

interface Ctx {
  svc: ServiceProcess;
  token: string;
  agentId: string;
}

async function setup(svc: ServiceProcess, upstream: string): Promise<Ctx> {
  const email = `bench-${Date.now()}@example.com`;
  const password = 'bench-Passw0rd-long';
  await api(svc.url, '/api/auth/register', { method: 'POST', body: { email, password, teamName: `Bench ${Date.now()}` } });
  const login = await api<{ accessToken: string }>(svc.url, '/api/auth/login', { method: 'POST', body: { email, password } });
  const a = await api<{ id: string }>(svc.url, '/api/agents', {
    method: 'POST',
    token: login.accessToken,
    body: { name: 'bench', provider: 'openai', model: 'bench', baseUrl: `${upstream}/v1`, apiKey: 'bench-key' },
  });
  return { svc, token: login.accessToken, agentId: a.id };
}

async function newChats(ctx: Ctx, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await api<{ id: string }>(ctx.svc.url, '/api/chats', { method: 'POST', token: ctx.token, body: { agentId: ctx.agentId, title: `b${i}` } })).id);
  }
  return ids;
}

const viaService = (ctx: Ctx, chatId: string) =>
  timeStream({
    url: `${ctx.svc.url}/api/chats/${chatId}/messages`,
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.token}` },
    body: { content: 'hi' },
    isDelta: (e) => e === 'message',
    isEnd: (e) => e === 'done' || e === 'error',
    agent,
  });

const viaUrl = (url: string) => timeStream({ url, method: 'POST', body: upstreamBody, isDelta: isOpenAiDelta, isEnd: isDone, agent });

const ttfts = (runs: StreamTiming[]): number[] => runs.filter((r) => r.ok && Number.isFinite(r.ttft)).map((r) => r.ttft);

/** `runs` pools every round of a level; `samples` is the number of first-delta times behind the percentiles. */
function summarise(label: string, n: number, runs: StreamTiming[], direct?: StreamTiming[], rounds = 1) {
  const ok = runs.filter((r) => r.ok);
  const t = ttfts(runs);
  const d = direct ? ttfts(direct) : [];
  const p50 = percentile(t, 50);
  const p99 = percentile(t, 99);
  return {
    path: label,
    streams: n,
    rounds,
    samples: t.length,
    ok: `${ok.length}/${runs.length}`,
    'TTFT p50': ms(p50),
    'TTFT p99': ms(p99),
    'added p50': direct ? ms(p50 - percentile(d, 50)) : '-',
    'added p99': direct ? ms(p99 - percentile(d, 99)) : '-',
    stalls: ok.filter((r) => r.maxGap > STALL_MS).length,
    errors: [...new Set(runs.filter((r) => !r.ok).map((r) => r.error ?? 'ended early'))].join('; ') || '-',
  };
}

/**
 * Where the stalls of a level were: the largest gap of each stalled stream, and the window of the bench's
 * clock they fall in (from the level's start). Gaps of many streams inside one short window mean the
 * process paused as a whole (a long task, a GC) rather than streams starving one another.
 */
function stallWindow(label: string, n: number, runs: StreamTiming[], t0: number): string | null {
  const stalled = runs.filter((r) => r.ok && r.maxGap > STALL_MS);
  if (stalled.length === 0) return null;
  const gaps = stalled.map((r) => r.maxGap).sort((a, b) => a - b);
  const starts = stalled.map((r) => r.maxGapEnd - r.maxGap - t0);
  const ends = stalled.map((r) => r.maxGapEnd - t0);
  return (
    `${label} at ${n}: ${stalled.length} stalled; largest gap per stalled stream p50 ${ms(percentile(gaps, 50))}, max ${ms(gaps[gaps.length - 1])}; ` +
    `the gaps lie between t=${ms(Math.min(...starts))} and t=${ms(Math.max(...ends))} after the level started`
  );
}

async function main(): Promise<void> {
  const upstream = new FakeOpenAiServer();
  const upstreamUrl = await upstream.start();
  const deltas = Array.from({ length: DELTAS }, (_, i) => `tok${i} `);
  upstream.setDefault({ deltas, delayMs: DELTA_MS, firstDeltaDelayMs: DELTA_MS });
  const relay = await startRelay(upstreamUrl);
  const env: Record<string, string> = {
    THROTTLE_LIMIT: '100000000',
    CHAT_MESSAGES_PER_MINUTE: '100000000',
    CHAT_MAX_CONCURRENT_GENERATIONS: '100000',
    AUTH_LOGIN_RATE_LIMIT: '1000',
    AUTH_REGISTER_RATE_LIMIT: '1000',
    SSE_SUBSCRIBER_QUEUE_MAX: '100000',
    METRICS_TOKEN,
    DB_POOL_MAX: process.env.BENCH_DB_POOL_MAX ?? '20',
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
  };
  const svc = await startService(env);
  const ctx = await setup(svc, upstreamUrl);
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  say(`# Chat streaming benchmark (${process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'embedded PostgreSQL'}, ${process.env.BENCH_REDIS_URL ? 'Redis' : 'in-process'} stream log)`);
  say(`upstream: ${DELTAS} deltas, ${DELTA_MS} ms apart; stall = a gap over ${STALL_MS} ms between deltas\n`);

  // 1. Time to first delta added by the service and by a bare relay, against the upstream itself. A level
  // of n streams runs ceil(MIN_SAMPLES / n) rounds one after the other (fresh chats each round), so one
  // stream is not reported as a percentile of one sample.
  upstream.reset().setDefault({ deltas, delayMs: DELTA_MS, firstDeltaDelayMs: DELTA_MS });
  const rows = [];
  for (const n of SECTIONS.has('ttft') ? LEVELS : []) {
    const rounds = Math.max(1, Math.ceil(MIN_SAMPLES / n));
    const direct: StreamTiming[] = [];
    const relayed: StreamTiming[] = [];
    const service: StreamTiming[] = [];
    for (let round = 0; round < rounds; round++) {
      const chats = await newChats(ctx, n);
      direct.push(...(await Promise.all(Array.from({ length: n }, () => viaUrl(`${upstreamUrl}/v1/chat/completions`)))));
      relayed.push(...(await Promise.all(Array.from({ length: n }, () => viaUrl(relay.url)))));
      service.push(...(await Promise.all(chats.map((c) => viaService(ctx, c)))));
      upstream.reset().setDefault({ deltas, delayMs: DELTA_MS, firstDeltaDelayMs: DELTA_MS });
    }
    rows.push(
      summarise('direct', n, direct, undefined, rounds),
      summarise('node:http relay', n, relayed, direct, rounds),
      summarise('service', n, service, direct, rounds),
    );
  }
  if (SECTIONS.has('ttft')) {
    say(`## Time to first delta (at least ${MIN_SAMPLES} samples per level)\n`);
    say(table(rows));
  }

  // 2. Database writes per reply: one reply of few deltas, one of many; the writes should not follow the deltas.
  if (SECTIONS.has('writes')) await writesSection();
  async function writesSection() {
  say('\n## Database writes per reply\n');
  const writeRows = [];
  for (const c of WRITE_CASES) {
    upstream.reset().setDefault({ deltas: Array.from({ length: c.deltas }, (_, i) => `tok${i} `), delayMs: c.delayMs, firstDeltaDelayMs: c.delayMs });
    writeRows.push(await dbWritesPerReply(ctx, c.deltas, c.delayMs));
  }
  upstream.reset().setDefault({ deltas, delayMs: DELTA_MS, firstDeltaDelayMs: DELTA_MS });
  say(table(writeRows));
  say(`\nfrom \`${DB_WRITES_METRIC}\` (sum and count before and after each reply); "no observations": the service did not record it`);
  }

  // 3. Highest concurrency without stalls.
  if (SECTIONS.has('stall')) await stallSection();
  async function stallSection() {
  say('\n## Concurrent streams without stalls\n');
  const stallRows = [];
  const stallNotes: string[] = [];
  let best = 0;
  for (const n of STALL_LEVELS) {
    const chats = await newChats(ctx, n);
    const t0 = performance.now();
    const [service, relayed] = [await Promise.all(chats.map((c) => viaService(ctx, c))), await Promise.all(Array.from({ length: n }, () => viaUrl(relay.url)))];
    upstream.reset().setDefault({ deltas, delayMs: DELTA_MS, firstDeltaDelayMs: DELTA_MS });
    const s = summarise('service', n, service);
    stallRows.push(s, summarise('node:http relay', n, relayed));
    const where = stallWindow('service', n, service, t0);
    if (where) stallNotes.push(where);
    const clean = s.stalls === 0 && service.every((r) => r.ok);
    if (clean) best = n;
    else break;
  }
  say(table(stallRows));
  say(`\nhighest level tried without a stall: ${best} streams`);
  for (const note of stallNotes) say(`\n${note}`);
  }

  // 4. Memory per idle open stream: IDLE subscribers following one reply whose upstream holds before its first token.
  if (SECTIONS.has('idle')) await idleSection();
  async function idleSection() {
  say(`\n## Memory per idle open stream (${IDLE} subscribers)\n`);
  upstream.reset().setDefault({ deltas: ['late'], holdMs: 10 * 60 * 1000 });
  const [chatId] = await newChats(ctx, 1);
  const sent = await fetch(`${svc.url}/api/chats/${chatId}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${ctx.token}` },
    body: JSON.stringify({ content: 'hold' }),
  });
  const { streamUrl } = (await sent.json()) as { streamUrl: string };
  const heapUsed = async () => (sampleValue(await scrape(svc.url, METRICS_TOKEN), 'chat_backend_nodejs_heap_size_used_bytes') ?? NaN) / 1024;
  const idle = await idleCost(svc, `${svc.url}${streamUrl}`, { authorization: `Bearer ${ctx.token}` }, heapUsed);
  const base = await startIdleSseBaseline();
  const baseCost = await idleCost(base, base.url, {});
  await base.stop();
  const kb = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} KB` : '-');
  say(
    table([
      { server: 'service', subscribers: idle.opened, 'RSS before': `${idle.before} KB`, 'RSS after': `${idle.after} KB`, 'per stream': kb(idle.perStream), 'per stream before the GC': kb(idle.perStreamNoGc), 'JS heap per stream': kb(idle.heapPerStream) },
      { server: 'node:http idle SSE', subscribers: baseCost.opened, 'RSS before': `${baseCost.before} KB`, 'RSS after': `${baseCost.after} KB`, 'per stream': kb(baseCost.perStream), 'per stream before the GC': kb(baseCost.perStreamNoGc), 'JS heap per stream': '-' },
    ]),
  );
  say('\nRSS of the process, each figure read after a full GC (SIGUSR2 to a preload, bench/lib/gc-on-signal.ts) and also, as before, without it. JS heap: heap used from /metrics after the GC.');
  }

  await svc.stop();
  await relay.close();
  await upstream.stop();
  agent.destroy();
}

/**
 * Sends one reply and reads the writes histogram before and after it. The job records its writes when it
 * ends, around the `done` event, so the count is awaited briefly; a service that records nothing shows
 * "no observations" instead of a division by zero.
 */
async function dbWritesPerReply(ctx: Ctx, deltaCount: number, delayMs: number) {
  const [chatId] = await newChats(ctx, 1);
  const totals = () => histogramTotals(ctx.svc.url, DB_WRITES_METRIC, METRICS_TOKEN);
  const before = await totals();
  const started = performance.now();
  const run = await viaService(ctx, chatId);
  const elapsed = performance.now() - started;
  let after: HistogramTotals = await totals();
  for (let i = 0; i < 40 && after.count <= before.count; i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = await totals();
  }
  const observations = after.count - before.count;
  const writes = after.sum - before.sum;
  const perReply = observations > 0 ? writes / observations : NaN;
  return {
    deltas: deltaCount,
    'delta gap': `${delayMs} ms`,
    reply: run.ok ? ms(elapsed) : `failed: ${run.error ?? 'ended early'}`,
    'deltas received': run.deltas,
    observations,
    'writes per reply': observations > 0 ? perReply.toFixed(1) : 'no observations',
    'deltas per write': observations > 0 && perReply > 0 ? (deltaCount / perReply).toFixed(1) : '-',
  };
}

async function idleCost(server: ServiceProcess, url: string, headers: Record<string, string>, heapUsed?: () => Promise<number>) {
  const keep = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  await server.collectGarbage();
  const before = server.rssKb();
  const heapBefore = heapUsed ? await heapUsed() : NaN;
  const reqs: http.ClientRequest[] = [];
  let opened = 0;
  for (let i = 0; i < IDLE; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, IDLE - i) }, () => {
        return new Promise<void>((resolve) => {
          const req = http.get(url, { agent: keep, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
            if (res.statusCode === 200) opened++;
            res.once('data', () => resolve());
            res.once('end', () => resolve());
          });
          req.on('error', () => resolve());
          reqs.push(req);
        });
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 2000));
  const afterNoGc = server.rssKb();
  await server.collectGarbage();
  const after = server.rssKb();
  const heapAfter = heapUsed ? await heapUsed() : NaN;
  for (const r of reqs) r.destroy();
  keep.destroy();
  const per = (a: number, b: number) => (a - b) / Math.max(1, opened);
  return { opened, before, after, afterNoGc, perStream: per(after, before), perStreamNoGc: per(afterNoGc, before), heapPerStream: per(heapAfter, heapBefore) };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
