import http from 'node:http';
import { startUpstreamProcess } from 'bench/lib/server';
import { api, startBenchStack } from 'bench/lib/stack';
import { timeStream } from 'bench/lib/sse-client';
import { percentile, table } from 'bench/lib/stats';

/**
 * Where a send's time to first delta goes at 1 stream, by ablation (issue 18): requests that stop at successive
 * points of the send's path, one at a time, interleaved, medians of N each. Not a target, an explanation.
 *   node dist/bench/send-parts.js [N=200]
 * - `GET /health/live`: Express and Nest with no guard work (public route);
 * - `GET /api/chats/:id`: the guards (throttle, authentication, roles) and one PostgreSQL read;
 * - `POST …/messages` with an empty body: the guards and validation, refused with 400 (no database);
 * - a send into a fresh chat after IDLE_MS of quiet (as at level 1 of `npm run bench`), to its first delta;
 * - a send, to its first event (`status`, written once the reply's job started and its stream opened);
 * - a send, to its first delta; and the upstream called directly, to its first delta.
 */
const N = Number(process.argv[2] ?? 200);
/** The pause before the send that starts idle, as each level-1 send of `npm run bench` does (its relay runs first). */
const IDLE_MS = Number(process.env.PARTS_IDLE_MS ?? 1000);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function timed(url: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = http.request(
      url,
      {
        method: init.method ?? 'GET',
        agent,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(performance.now() - t0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const upstream = await startUpstreamProcess();
  await upstream.set({ deltas: Array.from({ length: 8 }, (_, i) => `t${i} `), delayMs: 5, firstDeltaDelayMs: 20 });
  const { svc, token, stop } = await startBenchStack('parts');
  try {
    const a = await api<{ id: string }>(svc.url, '/api/agents', {
      method: 'POST',
      token,
      body: { name: 'parts', provider: 'openai', model: 'bench', baseUrl: `${upstream.url}/v1`, apiKey: 'k' },
    });
    const parts: Record<string, number[]> = {
      'GET /health/live (no guard work)': [],
      'GET /api/chats/:id (guards + 1 PostgreSQL read)': [],
      'POST messages, empty body: 400 (guards + validation)': [],
      'send after 1 s idle, first in its chat: first delta': [],
      'send: first event (job started, stream open)': [],
      'send: first delta': [],
      'upstream directly: first delta': [],
    };
    const k = Object.keys(parts);
    for (let i = 0; i < N; i++) {
      const chat = await api<{ id: string }>(svc.url, '/api/chats', { method: 'POST', token, body: { agentId: a.id } });
      const other = await api<{ id: string }>(svc.url, '/api/chats', {
        method: 'POST',
        token,
        body: { agentId: a.id },
      });
      parts[k[0]].push(await timed(`${svc.url}/health/live`));
      parts[k[1]].push(await timed(`${svc.url}/api/chats/${other.id}`, { token }));
      parts[k[2]].push(await timed(`${svc.url}/api/chats/${other.id}/messages`, { method: 'POST', token, body: {} }));
      const send = (isDelta: (e: string | null) => boolean) =>
        timeStream({
          url: `${svc.url}/api/chats/${chat.id}/messages`,
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: { content: 'hi' },
          isDelta,
          isEnd: (e) => e === 'done' || e === 'error',
          agent,
        });
      await new Promise((r) => setTimeout(r, IDLE_MS));
      parts[k[3]].push((await send((e) => e === 'message')).ttft);
      parts[k[4]].push((await send((e) => e === 'status')).ttft);
      parts[k[5]].push((await send((e) => e === 'message')).ttft);
      parts[k[6]].push(
        (
          await timeStream({
            url: `${upstream.url}/v1/chat/completions`,
            method: 'POST',
            body: { model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] },
            isDelta: (_e, d) => d.startsWith('{') && d.includes('"content":"') && !d.includes('"content":""'),
            isEnd: (_e, d) => d === '[DONE]',
            agent,
          })
        ).ttft,
      );
    }
    process.stdout.write(
      `${table(
        Object.entries(parts).map(([what, v]) => ({
          what,
          'p50 ms': percentile(v, 50).toFixed(2),
          'p90 ms': percentile(v, 90).toFixed(2),
        })),
      )}\n`,
    );
  } finally {
    await stop();
    await upstream.stop();
    agent.destroy();
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
