import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import Redis from 'ioredis';
import { histogramTotals, sampleValue, scrape } from 'bench/lib/metrics';
import { BenchDatabase, createBenchDatabase, DbStats } from 'bench/lib/pg';
import { cpuMs, load } from 'bench/lib/proc';
import { RedisCounters, redisCounters, redisDiff, startPrivateRedis } from 'bench/lib/redis';
import {
  startIdleSseBaseline,
  startRelayProcess,
  startService,
  startUpstreamProcess,
  ServiceProcess,
} from 'bench/lib/server';
import { api, BENCH_LIMITS, registerUser } from 'bench/lib/stack';
import { timeStream, StreamTiming } from 'bench/lib/sse-client';
import { ms, percentile, table } from 'bench/lib/stats';

/**
 * Chat streaming benchmark (issues 5 and 18) on PostgreSQL + Redis. The service (dist/src/main.js) and a
 * raw node:http relay of the same fake OpenAI-compatible upstream (64 deltas 20 ms apart) each run in their
 * own process; every figure of the service is printed next to the relay's from the same run. Asserts
 * nothing: prints tables and writes bench/results/latest.json.
 *
 *   npm run bench                  # full (≈ 6–10 min on a busy 2-core machine)
 *   npm run bench -- --quick       # fewer samples and levels (≈ 2–3 min)
 *
 * The service gets a fresh database created on BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres,
 * dropped afterwards) and BENCH_REDIS_URL (default redis://127.0.0.1:6379) under a unique REDIS_KEY_PREFIX.
 * Options: BENCH_SECTIONS=levels,stall,idle,history,writes   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p" (added to the production flags; BENCH_PRODUCTION_FLAGS=0 drops those)
 *          BENCH_LEVELS=1,10,50,200  BENCH_STALL_LEVELS=256,512,768  BENCH_IDLE=10000  BENCH_MIN_SAMPLES=20
 *          BENCH_SERVICE_ENV=K=V,K2=V2 (settings of the service, for an A/B)
 *          BENCH_MIN_ROUNDS=3 (1 with --quick)  BENCH_HISTORY_SAMPLES=15  BENCH_CONTEXT_MESSAGES (the service's CHAT_CONTEXT_MESSAGES)  BENCH_NO_ANALYZE=1
 */
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const DELTAS = 64;
const DELTA_MS = 20;
const STALL_MS = 200;
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const LEVELS = list(process.env.BENCH_LEVELS, QUICK ? [1, 10, 50, 200] : [1, 10, 50, 200]);
const STALL_LEVELS = list(process.env.BENCH_STALL_LEVELS, QUICK ? [512] : [256, 512, 768]);
const IDLE = Number(process.env.BENCH_IDLE ?? (QUICK ? 2000 : 10000));
/**
 * Seconds the idle streams then stay open with nothing forced, before RSS is read again: V8's own memory reducer
 * releases its page pool about 100 s after the last mark-compact (docs/reliability.md "Memory"), which is what an
 * operator sees of a server holding idle streams. 0: not measured (default with --quick).
 */
const IDLE_SETTLE_S = Number(process.env.BENCH_IDLE_SETTLE_S ?? (QUICK ? 0 : 130));
const MIN_SAMPLES = Number(process.env.BENCH_MIN_SAMPLES ?? (QUICK ? 10 : 20));
/**
 * At least this many rounds per level (relay then service, alternated): the CPU ratio of each round is taken
 * from windows seconds apart, so a change in the machine's load between rounds does not enter it; the summary
 * uses the median round.
 */
const MIN_ROUNDS = Number(process.env.BENCH_MIN_ROUNDS ?? (QUICK ? 1 : 3));
const HISTORY_SAMPLES = Number(process.env.BENCH_HISTORY_SAMPLES ?? (QUICK ? 5 : 15));
const HISTORY_LONG = 1000;
/** pg_stat_database is flushed by each backend at most every 10 s when idle (PostgreSQL ≥ 15). */
const PGSTAT_WAIT_MS = Number(process.env.BENCH_PGSTAT_WAIT_MS ?? 11_000);
const SECTIONS = new Set(
  (process.env.BENCH_SECTIONS ?? 'levels,stall,idle,history,writes').split(',').map((x) => x.trim()),
);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Unset: a redis-server of the bench's own (its counters then count only the service), else the machine's. */
let REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB_WRITES_METRIC = 'chat_backend_chat_reply_db_writes';
const METRICS_TOKEN = randomBytes(18).toString('base64url');
const WRITE_CASES = [
  // The same duration (~2.5 s), 100× the deltas: writes should follow time and size, not the number of deltas.
  { deltas: 10, delayMs: 250 },
  { deltas: 1000, delayMs: 2.5 },
];

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const isOpenAiDelta = (_e: string | null, d: string) =>
  d.startsWith('{') && d.includes('"content":"') && !d.includes('"content":""');
const isDone = (_e: string | null, d: string) => d === '[DONE]';
const upstreamBody = { model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] };
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const round = (v: number, d = 2) => (Number.isFinite(v) ? Number(v.toFixed(d)) : null);
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');

interface Ctx {
  svc: ServiceProcess;
  token: string;
  agentId: string;
}

async function setup(svc: ServiceProcess, upstream: string): Promise<Ctx> {
  const token = await registerUser(svc.url, 'bench');
  const a = await api<{ id: string }>(svc.url, '/api/agents', {
    method: 'POST',
    token,
    body: { name: 'bench', provider: 'openai', model: 'bench', baseUrl: `${upstream}/v1`, apiKey: 'bench-key' },
  });
  return { svc, token, agentId: a.id };
}

async function newChats(ctx: Ctx, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, j) =>
        api<{ id: string }>(ctx.svc.url, '/api/chats', {
          method: 'POST',
          token: ctx.token,
          body: { agentId: ctx.agentId, title: `b${i + j}` },
        }),
      ),
    );
    ids.push(...batch.map((c) => c.id));
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

const viaUrl = (url: string) =>
  timeStream({ url, method: 'POST', body: upstreamBody, isDelta: isOpenAiDelta, isEnd: isDone, agent });

const okRuns = (runs: StreamTiming[]) => runs.filter((r) => r.ok && Number.isFinite(r.ttft));
const ttftP = (runs: StreamTiming[], p: number) =>
  percentile(
    okRuns(runs).map((r) => r.ttft),
    p,
  );
const gapP = (runs: StreamTiming[], p: number) =>
  percentile(
    okRuns(runs).flatMap((r) => r.gaps),
    p,
  );
const spanP50 = (runs: StreamTiming[]) =>
  percentile(
    okRuns(runs).map((r) => r.span),
    50,
  );
const stalled = (runs: StreamTiming[]) => runs.filter((r) => r.ok && r.maxGap > STALL_MS).length;
const failed = (runs: StreamTiming[]) => runs.filter((r) => !r.ok);
const errorsOf = (runs: StreamTiming[]) => [...new Set(failed(runs).map((r) => r.error ?? 'ended early'))].join('; ');

/** Runs `fn` and returns its result with the CPU (ms) the process `pid` used meanwhile. */
async function withCpu<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const before = cpuMs(pid);
  const result = await fn();
  return { result, cpu: cpuMs(pid) - before };
}

interface LevelResult {
  streams: number;
  rounds: number;
  direct: StreamTiming[];
  relay: StreamTiming[];
  service: StreamTiming[];
  relayCpuMs: number;
  serviceCpuMs: number;
  /** CPU ms per reply of each round, relay and service (the same round's windows). */
  roundCpu: { relay: number; service: number }[];
  /** The service's Redis round trips and commands in its windows (private Redis only). */
  redis: RedisCounters | null;
}

function roundRatios(l: LevelResult) {
  const r = l.roundCpu.map((c) => ratio(c.service, c.relay)).filter(Number.isFinite);
  if (r.length === 0) return null;
  return { median: round(percentile(r, 50)), min: round(Math.min(...r)), max: round(Math.max(...r)), rounds: r.length };
}

function levelJson(l: LevelResult) {
  const d50 = ttftP(l.direct, 50);
  const dGap99 = gapP(l.direct, 99);
  const dSpan = spanP50(l.direct);
  const side = (runs: StreamTiming[], cpu: number) => ({
    replies: runs.length,
    ok: okRuns(runs).length,
    cpuMsPerReply: round(cpu / Math.max(1, runs.length)),
    ttftP50: round(ttftP(runs, 50)),
    ttftP99: round(ttftP(runs, 99)),
    addedTtftP50: round(ttftP(runs, 50) - d50),
    gapP99: round(gapP(runs, 99)),
    addedGapP99: round(gapP(runs, 99) - dGap99),
    /** Median time from the first to the last delta of a reply, as a share of the upstream's own (1: as spread as sent; near 0: a burst). */
    spread: round(ratio(spanP50(runs), dSpan), 3),
    deltasP50: percentile(
      okRuns(runs).map((r) => r.deltas),
      50,
    ),
    stalled: stalled(runs),
    errors: errorsOf(runs) || null,
  });
  return {
    streams: l.streams,
    rounds: l.rounds,
    direct: { ttftP50: round(d50), gapP99: round(dGap99), spanP50: round(dSpan) },
    /** Service / relay CPU per reply of each round: median and range (what the summary compares). */
    cpuRatioByRound: roundRatios(l),
    relay: side(l.relay, l.relayCpuMs),
    service: {
      ...side(l.service, l.serviceCpuMs),
      redisRoundTripsPerReply: l.redis ? round(l.redis.reads / Math.max(1, l.service.length), 1) : null,
      redisCommandsPerReply: l.redis
        ? Object.fromEntries(
            Object.entries(l.redis.commands)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => [k, round(v / Math.max(1, l.service.length), 1)]),
          )
        : null,
    },
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = load();
  const upstream = await startUpstreamProcess();
  const upstreamUrl = upstream.url;
  const deltas = Array.from({ length: DELTAS }, (_, i) => `tok${i} `);
  const standard = () => upstream.set({ deltas, delayMs: DELTA_MS, firstDeltaDelayMs: DELTA_MS });
  await standard();
  const relay = await startRelayProcess(upstreamUrl);
  const privateRedis = process.env.BENCH_REDIS_URL ? null : await startPrivateRedis();
  if (privateRedis) REDIS_URL = privateRedis.url;
  const db: BenchDatabase = await createBenchDatabase(PG_URL);
  const redisPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const env: Record<string, string> = {
    ...BENCH_LIMITS,
    SSE_SUBSCRIBER_QUEUE_MAX: '100000',
    // The idle section's reply is held by the upstream for minutes before its headers: without these the service
    // gives it up after three 10 s connect timeouts, and its followers end before they are measured.
    LLM_CONNECT_TIMEOUT_MS: '900000',
    LLM_FIRST_TOKEN_TIMEOUT_MS: '900000',
    METRICS_TOKEN,
    DB_POOL_MAX: process.env.BENCH_DB_POOL_MAX ?? '20',
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    // Any setting of the service for an A/B, e.g. BENCH_SERVICE_ENV=STREAM_ADMISSION_CONCURRENCY=0,CHAT_PERSIST_CHARS=500
    ...Object.fromEntries(
      (process.env.BENCH_SERVICE_ENV ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()]),
    ),
    // The service's default unless set: the history section's 1,000-message chats send this many.
    ...(process.env.BENCH_CONTEXT_MESSAGES ? { CHAT_CONTEXT_MESSAGES: process.env.BENCH_CONTEXT_MESSAGES } : {}),
  };
  const svc = await startService(env);
  const results: Record<string, unknown> = {};
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  let commit = '';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  try {
    const ctx = await setup(svc, upstreamUrl);
    say(`# Chat streaming benchmark: PostgreSQL + Redis${QUICK ? ' (--quick)' : ''}`);
    say(`node ${process.version}, commit ${commit || '?'}, ${startedAt.toISOString()}`);
    say(`load at start: ${loadBefore.uptime} (${loadBefore.cpus} CPUs)`);
    say(
      `upstream: ${DELTAS} deltas, ${DELTA_MS} ms apart; stall = a gap over ${STALL_MS} ms between deltas; relay = raw node:http relay in its own process\n`,
    );

    // 1. Memory per idle open stream (first, while the heap holds only what boot left: the RSS delta is honest): IDLE subscribers following one reply whose upstream holds before its first token.
    if (SECTIONS.has('idle')) {
      await upstream.set({ deltas: ['late'], holdMs: 10 * 60 * 1000 });
      const [chatId] = await newChats(ctx, 1);
      const sent = await fetch(`${svc.url}/api/chats/${chatId}/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${ctx.token}`,
        },
        body: JSON.stringify({ content: 'hold' }),
      });
      const { streamUrl } = (await sent.json()) as { streamUrl: string };
      const heapUsed = async () =>
        (sampleValue(await scrape(svc.url, METRICS_TOKEN), 'chat_backend_nodejs_heap_size_used_bytes') ?? NaN) / 1024;
      const idle = await idleCost(svc, `${svc.url}${streamUrl}`, { authorization: `Bearer ${ctx.token}` }, heapUsed);
      const base = await startIdleSseBaseline();
      const baseCost = await idleCost(base, base.url, {});
      await base.stop();
      await standard();
      results.idle = { service: idle, nodeHttpBaseline: baseCost };
      const kb = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} KB` : '-');
      say(`\n## Memory per idle open stream (${IDLE} streams, after a full GC)\n`);
      const row = (server: string, c: typeof idle) => ({
        server,
        streams: `${c.opened} (${c.stillOpen} still open at the end)`,
        'RSS before': `${c.before} KB`,
        'RSS after': `${c.after} KB`,
        'RSS per stream': kb(c.perStream),
        'RSS per stream, V8 pool released': kb(c.perStreamReduced),
        [`RSS per stream after ${IDLE_SETTLE_S} s idle`]: kb(c.perStreamSettled),
        'JS heap per stream': kb(c.heapPerStream),
        'external per stream': kb(c.externalPerStream),
        'JS heap per stream (/metrics scrape)': kb(c.scrapedHeapPerStream),
      });
      say(table([row('node:http idle SSE', baseCost), row('service', idle)]));
      say(
        '\nRSS and the JS heap are read by the process itself right after the GC. "V8 pool released": the same after a memory-reducing GC, which also frees the pages V8 keeps pooled after the garbage of opening the streams (docs/performance.md "Idle memory"). "after N s idle": RSS read after the streams stayed open and idle that long, nothing forced (V8\'s own memory reducer runs about 100 s after the last mark-compact).\n',
      );
    }

    // 1. Levels: direct, relay and service one after the other, n concurrent sends each; CPU of the relay
    // and service processes read from /proc around each. Rounds of fresh chats until MIN_SAMPLES replies.
    const levels: LevelResult[] = [];
    if (SECTIONS.has('levels')) {
      for (const n of LEVELS) {
        const rounds = Math.max(1, MIN_ROUNDS, Math.ceil(MIN_SAMPLES / n));
        const l: LevelResult = {
          streams: n,
          rounds,
          direct: [],
          relay: [],
          service: [],
          relayCpuMs: 0,
          serviceCpuMs: 0,
          roundCpu: [],
          redis: privateRedis ? { reads: 0, commands: {} } : null,
        };
        for (let r = 0; r < rounds; r++) {
          const chats = await newChats(ctx, n);
          await standard();
          l.direct.push(
            ...(await Promise.all(Array.from({ length: n }, () => viaUrl(`${upstreamUrl}/v1/chat/completions`)))),
          );
          await standard();
          const rel = await withCpu(relay.pid, () => Promise.all(Array.from({ length: n }, () => viaUrl(relay.url))));
          l.relay.push(...rel.result);
          l.relayCpuMs += rel.cpu;
          await standard();
          await sleep(200); // let the chat creations' trailing work (audit) settle out of the window
          const redisBefore = l.redis ? await redisCounters(REDIS_URL) : null;
          const s = await withCpu(svc.pid, () => Promise.all(chats.map((c) => viaService(ctx, c))));
          l.service.push(...s.result);
          l.serviceCpuMs += s.cpu;
          l.roundCpu.push({ relay: rel.cpu / n, service: s.cpu / n });
          if (l.redis && redisBefore) {
            // The reply's end (slot release, usage, finish) may trail the last event by a little.
            await sleep(300);
            const d = redisDiff(redisBefore, await redisCounters(REDIS_URL));
            l.redis.reads += d.reads;
            for (const [k, v] of Object.entries(d.commands)) l.redis.commands[k] = (l.redis.commands[k] ?? 0) + v;
          }
        }
        levels.push(l);
        process.stderr.write(`levels: ${n} done\n`);
      }
      results.levels = levels.map(levelJson);
      say('## CPU per streamed reply, time to first delta, gaps (relay / service, same run)\n');
      say(
        table(
          levels.map((l) => {
            const j = levelJson(l);
            return {
              streams: l.streams,
              replies: `${j.relay.ok}/${j.relay.replies} / ${j.service.ok}/${j.service.replies}`,
              'CPU ms per reply': `${j.relay.cpuMsPerReply} / ${j.service.cpuMsPerReply}`,
              'CPU ratio': x(ratio(j.service.cpuMsPerReply ?? NaN, j.relay.cpuMsPerReply ?? NaN)),
              'CPU ratio by round, median (range)': j.cpuRatioByRound
                ? `${x(j.cpuRatioByRound.median ?? NaN)} (${x(j.cpuRatioByRound.min ?? NaN)}–${x(j.cpuRatioByRound.max ?? NaN)}, ${j.cpuRatioByRound.rounds})`
                : '-',
              'added TTFT p50': `${ms(j.relay.addedTtftP50 ?? NaN)} / ${ms(j.service.addedTtftP50 ?? NaN)}`,
              'TTFT p99': `${ms(j.relay.ttftP99 ?? NaN)} / ${ms(j.service.ttftP99 ?? NaN)}`,
              'gap p99 (direct)': `${ms(j.relay.gapP99 ?? NaN)} / ${ms(j.service.gapP99 ?? NaN)} (${ms(j.direct.gapP99 ?? NaN)})`,
              spread: `${j.relay.spread} / ${j.service.spread}`,
              'deltas p50': `${j.relay.deltasP50} / ${j.service.deltasP50}`,
              stalled: `${j.relay.stalled} / ${j.service.stalled}`,
              'Redis round trips per reply': j.service.redisRoundTripsPerReply ?? '-',
              errors: j.service.errors ?? j.relay.errors ?? '-',
            };
          }),
        ),
      );
      if (levels[0]?.redis) {
        say('\nRedis commands per reply (the service, private redis-server; commands run by Lua scripts included):\n');
        say(
          table(
            levels.map((l) => {
              const c = levelJson(l).service.redisCommandsPerReply ?? {};
              return {
                streams: l.streams,
                commands: Object.entries(c)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', '),
              };
            }),
          ),
        );
      }
      say(
        '\nCPU: user+system of the process from /proc/<pid>/stat around the level (10 ms ticks), divided by the replies. ' +
          'added TTFT: minus the upstream called directly at the same level. spread: median first-to-last-delta time over the ' +
          "upstream's own (1.0 = as spread as sent; near 0 = the reply arrived as a burst). deltas p50: the service coalesces deltas that queue. " +
          "Redis round trips: socket reads the (private) redis-server processed in the level's service windows, divided by the replies: one per command or pipeline sent.",
      );
    }

    // 2. Stall-free concurrency: n concurrent sends on the service, then the relay.
    if (SECTIONS.has('stall')) {
      const rows = [];
      const stallJson = [];
      let best = 0;
      for (const n of STALL_LEVELS) {
        const chats = await newChats(ctx, n);
        await standard();
        const t0 = performance.now();
        const service = await Promise.all(chats.map((c) => viaService(ctx, c)));
        const where = stallWindow(service, t0);
        await standard();
        const relayed = await Promise.all(Array.from({ length: n }, () => viaUrl(relay.url)));
        const clean = stalled(service) === 0 && failed(service).length === 0;
        if (clean) best = n;
        const row = {
          streams: n,
          'service ok': `${okRuns(service).length}/${n}`,
          'service stalled': stalled(service),
          'relay stalled': stalled(relayed),
          'max gap p99 relay / service': `${ms(
            percentile(
              okRuns(relayed).map((r) => r.maxGap),
              99,
            ),
          )} / ${ms(
            percentile(
              okRuns(service).map((r) => r.maxGap),
              99,
            ),
          )}`,
          'TTFT p50 relay / service': `${ms(ttftP(relayed, 50))} / ${ms(ttftP(service, 50))}`,
          where: where ?? '-',
          errors: errorsOf(service) || '-',
        };
        rows.push(row);
        stallJson.push({ ...row, clean });
        process.stderr.write(`stall: ${n} done\n`);
        // Past the service's first stalled level, go on while the relay is clean: where a raw relay on this
        // machine stalls too is the machine's limit, not the service's.
        if (!clean && (stalled(relayed) > 0 || failed(relayed).length > 0)) break;
      }
      results.stall = { levels: stallJson, highestClean: best };
      say(`\n## Concurrent streams without a gap over ${STALL_MS} ms\n`);
      say(table(rows));
      say(`\nhighest level tried without a stall: ${best} streams (target ≥ 512)`);
    }

    // 4. Time to first delta of a send into a chat holding 1,000 messages against one holding 2 (seeded in the
    // database), one send at a time, interleaved.
    if (SECTIONS.has('history')) {
      const short = await newChats(ctx, HISTORY_SAMPLES);
      const long = await newChats(ctx, HISTORY_SAMPLES);
      for (const c of short) await db.seedHistory(c, 2);
      for (const c of long) await db.seedHistory(c, HISTORY_LONG);
      // A table that grew by thousands of rows in a second has stale planner statistics until autovacuum
      // runs (about a minute); a live table's are current. Without this the first sends are planned for a
      // tiny table (sequential scans per step of the walk) and measure the bench's seeding, not a send.
      if (!process.env.BENCH_NO_ANALYZE) await db.analyze();
      await standard();
      const s2: StreamTiming[] = [];
      const s1000: StreamTiming[] = [];
      for (let i = 0; i < HISTORY_SAMPLES; i++) {
        s2.push(await viaService(ctx, short[i]));
        s1000.push(await viaService(ctx, long[i]));
      }
      const t2 = ttftP(s2, 50);
      const t1000 = ttftP(s1000, 50);
      const maxSent = await upstream.maxMessages();
      results.history = {
        samples: HISTORY_SAMPLES,
        ttftP50With2: round(t2),
        ttftP50With1000: round(t1000),
        ratio: round(ratio(t1000, t2), 3),
        messagesSentUpstreamMax: maxSent,
        errors: errorsOf([...s2, ...s1000]) || null,
      };
      say(`\n## Time to first delta with a long history (${HISTORY_SAMPLES} sends each, one at a time)\n`);
      say(
        table([
          {
            history: '2 messages',
            'TTFT p50': ms(t2),
            'TTFT p99': ms(ttftP(s2, 99)),
            ok: `${okRuns(s2).length}/${s2.length}`,
          },
          {
            history: `${HISTORY_LONG} messages`,
            'TTFT p50': ms(t1000),
            'TTFT p99': ms(ttftP(s1000, 99)),
            ok: `${okRuns(s1000).length}/${s1000.length}`,
          },
        ]),
      );
      say(
        `\nratio ${x(ratio(t1000, t2))} (target ≤ 1.10×); most messages the upstream received in one request: ${maxSent}`,
      );
    }

    // 5. Database writes per reply (pg_stat_database of the bench database, after each backend flushed its counters).
    if (SECTIONS.has('writes')) {
      const writeRows = [];
      const chats = await newChats(ctx, WRITE_CASES.length);
      await sleep(PGSTAT_WAIT_MS);
      let prev = await db.stats();
      // The idle window: what the service writes with nothing to do (sweepers, housekeeping), over the same wait.
      await sleep(PGSTAT_WAIT_MS);
      let cur = await db.stats();
      const idleWindow = diff(prev, cur);
      prev = cur;
      const hist0 = await histogramTotals(svc.url, DB_WRITES_METRIC, METRICS_TOKEN);
      let histPrev = hist0;
      for (const [i, c] of WRITE_CASES.entries()) {
        await upstream.set({
          deltas: Array.from({ length: c.deltas }, (_, k) => `tok${k} `),
          delayMs: c.delayMs,
          firstDeltaDelayMs: c.delayMs,
        });
        const started = performance.now();
        const run = await viaService(ctx, chats[i]);
        const elapsed = performance.now() - started;
        await sleep(PGSTAT_WAIT_MS);
        cur = await db.stats();
        const d = diff(prev, cur);
        prev = cur;
        const hist = await histogramTotals(svc.url, DB_WRITES_METRIC, METRICS_TOKEN);
        const metricWrites =
          hist.count > histPrev.count ? (hist.sum - histPrev.sum) / (hist.count - histPrev.count) : NaN;
        histPrev = hist;
        writeRows.push({
          deltas: c.deltas,
          'delta gap': `${c.delayMs} ms`,
          reply: run.ok ? ms(elapsed) : `failed: ${run.error ?? 'ended early'}`,
          'deltas received': run.deltas,
          'rows written (ins+upd+del)': d.rows,
          'of which inserted / updated': `${d.tupInserted} / ${d.tupUpdated}`,
          'transactions (reads too)': d.xactCommit,
          'writes (service metric)': Number.isFinite(metricWrites) ? metricWrites : '-',
        });
      }
      await standard();
      results.writes = { cases: writeRows, idleWindow };
      say('\n## Database writes per reply\n');
      say(table(writeRows));
      say(
        `\nRows: pg_stat_user_tables of the bench database (TOAST chunks not counted); transactions: pg_stat_database (the bench's own reads of the counters included, 1 per read); read ${PGSTAT_WAIT_MS} ms after each reply (backends flush their counters when idle). ` +
          `An idle window of the same length, no request: ${idleWindow.rows} rows written, ${idleWindow.xactCommit} transactions. ` +
          `"writes (service metric)": \`${DB_WRITES_METRIC}\`, the reply's own count of its progress and final writes.`,
      );
    }

    // Summary against the targets.
    const loadAfter = load();
    const lv = (n: number) =>
      (results.levels as ReturnType<typeof levelJson>[] | undefined)?.find((l) => l.streams === n);
    const summary: Record<string, string | number>[] = [];
    const target = (name: string, service: string, relayFig: string, verdict: boolean | null) =>
      summary.push({
        target: name,
        service,
        relay: relayFig,
        met: verdict === null ? 'n/a' : verdict ? 'yes' : '**no**',
      });
    for (const n of [50, 200]) {
      const l = lv(n);
      if (l) {
        // The median round's ratio (windows of one round are seconds apart); the totals are printed beside it.
        const r = l.cpuRatioByRound?.median ?? ratio(l.service.cpuMsPerReply ?? NaN, l.relay.cpuMsPerReply ?? NaN);
        target(
          `CPU per reply ≤ 1.5× relay at ${n}`,
          `${l.service.cpuMsPerReply} ms (${x(r)} median of ${l.cpuRatioByRound?.rounds ?? 1} rounds)`,
          `${l.relay.cpuMsPerReply} ms`,
          r <= 1.5,
        );
      }
    }
    const l10cpu = lv(10);
    if (l10cpu)
      target(
        'CPU per reply at 10 (no target)',
        `${l10cpu.service.cpuMsPerReply} ms (${x(ratio(l10cpu.service.cpuMsPerReply ?? NaN, l10cpu.relay.cpuMsPerReply ?? NaN))})`,
        `${l10cpu.relay.cpuMsPerReply} ms`,
        null,
      );
    for (const [n, plus] of [
      [1, 2],
      [10, 5],
    ]) {
      const l = lv(n);
      if (l)
        target(
          `added TTFT p50 ≤ relay + ${plus} ms at ${n}`,
          ms(l.service.addedTtftP50 ?? NaN),
          ms(l.relay.addedTtftP50 ?? NaN),
          (l.service.addedTtftP50 ?? Infinity) <= (l.relay.addedTtftP50 ?? 0) + plus,
        );
    }
    const l200 = lv(200);
    if (l200) {
      target(
        'added TTFT p50 ≤ 2× relay at 200',
        ms(l200.service.addedTtftP50 ?? NaN),
        ms(l200.relay.addedTtftP50 ?? NaN),
        (l200.service.addedTtftP50 ?? Infinity) <= 2 * Math.max(0, l200.relay.addedTtftP50 ?? 0),
      );
      target(
        'deltas spread over the reply at 200 (spread ≥ 0.5)',
        String(l200.service.spread),
        String(l200.relay.spread),
        (l200.service.spread ?? 0) >= 0.5,
      );
      target(
        'added gap p99 ≤ 1.5× relay at 200',
        ms(l200.service.addedGapP99 ?? NaN),
        ms(l200.relay.addedGapP99 ?? NaN),
        (l200.service.addedGapP99 ?? Infinity) <= 1.5 * Math.max(0, l200.relay.addedGapP99 ?? 0),
      );
    }
    const st = results.stall as { highestClean: number } | undefined;
    if (st)
      target(
        '≥ 512 concurrent streams without a gap over 200 ms',
        `${st.highestClean} streams`,
        'see table',
        st.highestClean >= 512,
      );
    const idle = results.idle as
      { service: { perStream: number }; nodeHttpBaseline: { perStream: number } } | undefined;
    if (idle)
      target(
        `≤ 20 KB per idle stream (at ${IDLE})`,
        `${idle.service.perStream.toFixed(1)} KB`,
        `${idle.nodeHttpBaseline.perStream.toFixed(1)} KB (node:http SSE)`,
        idle.service.perStream <= 20,
      );
    const h = results.history as { ratio: number | null; ttftP50With1000: number; ttftP50With2: number } | undefined;
    if (h)
      target(
        'TTFT with 1,000 messages within 10 % of 2',
        `${ms(h.ttftP50With1000)} vs ${ms(h.ttftP50With2)} (${x(h.ratio ?? NaN)})`,
        '-',
        (h.ratio ?? Infinity) <= 1.1,
      );
    const w = results.writes as { cases: { 'rows written (ins+upd+del)': number }[] } | undefined;
    if (w && w.cases.length === 2) {
      const [a, b] = w.cases.map((c) => c['rows written (ins+upd+del)']);
      target('DB rows written per reply flat, 10 vs 1,000 deltas', `${a} vs ${b}`, '-', b <= a + 2);
    }
    say('\n## Summary against the targets of issue 18\n');
    say(table(summary));
    say(`\nload at end: ${loadAfter.uptime}`);
    results.summary = summary;
    mkdirSync(join(process.cwd(), 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(process.cwd(), 'bench', 'results', 'latest.json'),
      `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), quick: QUICK, node: process.version, commit, loadBefore, loadAfter, upstream: { deltas: DELTAS, deltaMs: DELTA_MS }, results }, null, 2)}\n`,
    );
    say('results written to bench/results/latest.json');
  } finally {
    await svc.stop();
    await relay.stop();
    await upstream.stop();
    agent.destroy();
    await db.drop();
    await dropRedisKeys(redisPrefix);
    await privateRedis?.stop();
  }
}

function diff(a: DbStats, b: DbStats) {
  const tupInserted = b.tupInserted - a.tupInserted;
  const tupUpdated = b.tupUpdated - a.tupUpdated;
  const tupDeleted = b.tupDeleted - a.tupDeleted;
  return {
    xactCommit: b.xactCommit - a.xactCommit,
    tupInserted,
    tupUpdated,
    tupDeleted,
    rows: tupInserted + tupUpdated + tupDeleted,
  };
}

/** Where the stalls of a level were: many streams' largest gaps in one short window mean the process was busy as a whole. */
function stallWindow(runs: StreamTiming[], t0: number): string | null {
  const s = runs.filter((r) => r.ok && r.maxGap > STALL_MS);
  if (s.length === 0) return null;
  const gaps = s.map((r) => r.maxGap).sort((a, b) => a - b);
  const starts = s.map((r) => r.maxGapEnd - r.maxGap - t0);
  const ends = s.map((r) => r.maxGapEnd - t0);
  return `largest gaps p50 ${ms(percentile(gaps, 50))}, max ${ms(gaps[gaps.length - 1])}, between t=${ms(Math.min(...starts))} and t=${ms(Math.max(...ends))}`;
}

async function dropRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    /* best effort */
  } finally {
    redis.disconnect();
  }
}

async function idleCost(
  server: ServiceProcess,
  url: string,
  headers: Record<string, string>,
  scrapedHeapKb?: () => Promise<number>,
) {
  const keep = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  // Every figure is the process's own, written right after a full GC (gc-on-signal.ts), in KB.
  const first = await server.sampleMemory();
  const firstReduced = await server.sampleMemory('reduce');
  const scrapedBefore = scrapedHeapKb ? await scrapedHeapKb() : NaN;
  const reqs: http.ClientRequest[] = [];
  const responses: http.IncomingMessage[] = [];
  let opened = 0;
  for (let i = 0; i < IDLE; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, IDLE - i) }, () => {
        return new Promise<void>((resolve) => {
          const req = http.get(url, { agent: keep, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
            if (res.statusCode === 200) opened++;
            responses.push(res);
            res.once('data', () => resolve());
            res.once('end', () => resolve());
          });
          req.on('error', () => resolve());
          reqs.push(req);
        });
      }),
    );
  }
  await sleep(2000);
  const afterNoGc = server.rssKb();
  const last = await server.sampleMemory();
  const scrapedAfter = scrapedHeapKb ? await scrapedHeapKb() : NaN;
  let settled = NaN;
  if (IDLE_SETTLE_S > 0) {
    await sleep(IDLE_SETTLE_S * 1000);
    settled = server.rssKb();
  }
  const lastReduced = await server.sampleMemory('reduce');
  // Streams the client still has open now (a stream that ended meanwhile would make the figures wrong).
  const stillOpen = responses.filter((r) => r.statusCode === 200 && !r.complete && !r.destroyed).length;
  for (const r of reqs) r.destroy();
  keep.destroy();
  const per = (a: number, b: number) => (a - b) / Math.max(1, opened);
  return {
    opened,
    before: first.rssKb,
    after: last.rssKb,
    afterNoGc,
    perStream: per(last.rssKb, first.rssKb),
    perStreamNoGc: per(afterNoGc, first.rssKb),
    // After IDLE_SETTLE_S seconds open and idle, no GC forced (V8's own memory reducer may have run): against the
    // baseline with V8's pool released too, what its reducer would have left of the boot.
    perStreamSettled: per(settled, firstReduced.rssKb),
    stillOpen,
    // Without the pages V8 keeps pooled after the garbage of opening the streams (a memory-reducing GC).
    perStreamReduced: per(lastReduced.rssKb, firstReduced.rssKb),
    heapPerStream: per(last.heapUsed, first.heapUsed) / 1024,
    externalPerStream: per(last.external + last.arrayBuffers, first.external + first.arrayBuffers) / 1024,
    scrapedHeapPerStream: per(scrapedAfter, scrapedBefore),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
