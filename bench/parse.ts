import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import { OpenAiProvider } from 'src/llm/providers/openai.provider';
import type { LlmAgentConfig } from 'src/llm/llm.types';
import { startUpstreamProcess } from 'bench/lib/server';

/**
 * The ways of reading an OpenAI-compatible stream, side by side in one process (issue 18): the SDK
 * (`chat.completions.create({ stream: true })`, what the provider used first), fetch + eventsource-parser
 * (what it used next, copied here) and the provider itself (node:http + eventsource-parser). N concurrent
 * streams of 64 deltas from the fake upstream (its own process), rounds alternated; prints the CPU of this
 * process per stream.   node dist/bench/parse.js [streams] [rounds]
 */
const N = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 4);

async function main(): Promise<void> {
  const upstream = await startUpstreamProcess();
  await upstream.set({ deltas: Array.from({ length: 64 }, (_, i) => `tok${i} `), delayMs: 5, firstDeltaDelayMs: 5 });
  const agent: LlmAgentConfig = {
    id: 'a',
    name: 'bench',
    provider: 'openai',
    model: 'bench',
    baseUrl: `${upstream.url}/v1`,
    secret: 'k',
    config: {},
  };
  const lean = new OpenAiProvider();
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const viaLean = async () => {
    let n = 0;
    for await (const c of lean.stream(agent, messages, new AbortController().signal)) if (c.type === 'delta') n++;
    return n;
  };
  const viaFetch = async () => {
    const res = await fetch(`${agent.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({ model: 'bench', messages, stream: true, stream_options: { include_usage: true } }),
    });
    let n = 0;
    let done = false;
    const parser = createParser({
      onEvent: (e) => {
        if (e.data === '[DONE]') done = true;
        else if ((JSON.parse(e.data) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content)
          n++;
      },
    });
    const decoder = new TextDecoder();
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      if (done) break;
    }
    await res.body?.cancel().catch(() => undefined);
    return n;
  };
  const viaSdk = async () => {
    const client = new OpenAI({
      apiKey: 'k',
      baseURL: agent.baseUrl!,
      organization: null,
      project: null,
      maxRetries: 0,
      logLevel: 'off',
    });
    const stream = await client.chat.completions.create({
      model: 'bench',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let n = 0;
    for await (const c of stream) if (c.choices?.[0]?.delta?.content) n++;
    return n;
  };
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const totals = { sdk: 0, fetch: 0, lean: 0 };
  const deltas = { sdk: 0, fetch: 0, lean: 0 };
  await Promise.all(Array.from({ length: 10 }, viaSdk)); // warm the paths up
  await Promise.all(Array.from({ length: 10 }, viaFetch));
  await Promise.all(Array.from({ length: 10 }, viaLean));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of [
      ['sdk', viaSdk],
      ['fetch', viaFetch],
      ['lean', viaLean],
    ] as const) {
      const before = cpu();
      const got = await Promise.all(Array.from({ length: N }, run));
      totals[name] += cpu() - before;
      deltas[name] += got.reduce((a, b) => a + b, 0);
    }
  }
  const per = (k: keyof typeof totals) => totals[k] / (N * ROUNDS);
  process.stdout.write(
    `${N} concurrent streams × ${ROUNDS} rounds, 64 deltas each, CPU of this process per stream:\n` +
      `  OpenAI SDK stream:                       ${per('sdk').toFixed(2)} ms (${deltas.sdk} deltas)\n` +
      `  fetch + eventsource-parser:              ${per('fetch').toFixed(2)} ms (${deltas.fetch} deltas)\n` +
      `  provider (node:http + eventsource-parser): ${per('lean').toFixed(2)} ms (${deltas.lean} deltas)\n` +
      `  ratio SDK / provider: ${(per('sdk') / per('lean')).toFixed(2)}×, fetch / provider: ${(per('fetch') / per('lean')).toFixed(2)}×\n`,
  );
  await upstream.stop();
}

void main();
