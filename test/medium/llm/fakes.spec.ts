import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { FakeGeminiServer } from 'test/fakes/fake-gemini-server';
import { FakeN8nServer } from 'test/fakes/fake-n8n-server';
import { FakeOpenAiServer } from 'test/fakes/fake-openai-server';

describe('the fake upstreams speak the wire formats the real SDKs accept', () => {
  const openaiFake = new FakeOpenAiServer();
  const geminiFake = new FakeGeminiServer();
  const n8nFake = new FakeN8nServer();
  let urls: { openai: string; gemini: string; n8n: string };

  beforeAll(async () => {
    urls = { openai: `${await openaiFake.start()}/v1`, gemini: await geminiFake.start(), n8n: await n8nFake.start() };
  });
  afterAll(async () => Promise.all([openaiFake.stop(), geminiFake.stop(), n8nFake.stop()]));

  it('OpenAI fake: a non-streamed chat.completion with usage', async () => {
    openaiFake.enqueue({ deltas: ['Whole', ' answer'], usage: { promptTokens: 4, completionTokens: 2 } });
    const client = new OpenAI({ apiKey: 'k', baseURL: urls.openai, maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0].message.content).toBe('Whole answer');
    expect(res.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
  });

  it('OpenAI fake: streamed chunks end with a usage chunk whose choices are empty', async () => {
    openaiFake.enqueue({ deltas: ['a', 'b'] });
    const client = new OpenAI({ apiKey: 'k', baseURL: urls.openai, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('ab');
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('stop');
    expect(chunks[chunks.length - 1]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [],
      usage: { completion_tokens: 2 },
    });
  });

  it('OpenAI fake: the SDK surfaces the scripted error status and Retry-After', async () => {
    openaiFake.enqueue({ status: 429, headers: { 'retry-after': '7' } });
    const client = new OpenAI({ apiKey: 'k', baseURL: urls.openai, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429 });
    expect((err as { headers: Headers }).headers.get('retry-after')).toBe('7');
  });

  it('Gemini fake: generateContent (non-streamed) returns text and usageMetadata', async () => {
    geminiFake.enqueue({ deltas: ['Ciao', '!'], usage: { promptTokens: 5, completionTokens: 2 } });
    const ai = new GoogleGenAI({ vertexai: false, apiKey: 'k', httpOptions: { baseUrl: urls.gemini } });
    const res = await ai.models.generateContent({ model: 'gemini-x', contents: 'hi' });
    expect(res.text).toBe('Ciao!');
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 });
    expect(FakeGeminiServer.modelOf(geminiFake.lastRequest!)).toBe('gemini-x');
  });

  it('Gemini fake: the SDK reports a scripted error status as ApiError', async () => {
    geminiFake.enqueue({ status: 503 });
    const ai = new GoogleGenAI({ vertexai: false, apiKey: 'k', httpOptions: { baseUrl: urls.gemini } });
    await expect(ai.models.generateContent({ model: 'g', contents: 'hi' })).rejects.toMatchObject({
      name: 'ApiError',
      status: 503,
    });
  });

  it('n8n fake: records the request body and sends n8n-style error bodies', async () => {
    n8nFake.enqueue({ status: 500 });
    const res = await fetch(`${urls.n8n}/webhook/z`, {
      method: 'POST',
      body: JSON.stringify({ a: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ code: 500, message: 'fake n8n error 500' });
    expect(n8nFake.lastRequest!.body).toEqual({ a: 1 });
  });

  it('n8n fake: ndjson stream is begin, items, end, one object per line', async () => {
    n8nFake.enqueue({ deltas: ['x', 'y'] });
    const text = await (await fetch(`${urls.n8n}/webhook/z`, { method: 'POST', body: '{}' })).text();
    const types = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).type);
    expect(types).toEqual(['begin', 'item', 'item', 'end']);
  });
});
