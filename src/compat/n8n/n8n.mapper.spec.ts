import { lastValueFrom, of, toArray } from 'rxjs';
import type { SseFrame } from 'src/common/sse/sse-format';
import { allPages, toCreateAgent, toN8nEvents, toUpdateAgent } from 'src/compat/n8n/n8n.mapper';

const run = (frames: SseFrame[]) => lastValueFrom(of(...frames).pipe(toN8nEvents(), toArray()));

describe('n8n mapper', () => {
  const opening: SseFrame = {
    id: '0-1',
    type: 'status',
    data: {
      description: 'Sending request...',
      level: 'info',
      done: false,
      userMessageId: 'u',
      assistantMessageId: 'a',
    },
  };
  const asking = (name: string, seq: number): SseFrame => ({
    id: `0-${seq}`,
    type: 'status',
    data: { description: `Asking ${name}`, level: 'info', done: false, agentId: name, model: 'm' },
  });

  it('turns a completed reply into the seed-003 sequence: status, messages, closing status done:true, done', async () => {
    const out = await run([
      opening,
      asking('bot', 2),
      { id: '2-3', type: 'message', data: { content: 'Hi' } },
      { id: '5-4', type: 'message', data: { content: '!!!' } },
      {
        id: '5-5',
        type: 'done',
        data: { message: 'Stream completed', messageId: 'a', status: 'complete', usage: null },
      },
    ]);
    expect(out.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'status', data: { description: 'Sending request...', level: 'info', done: false } },
      { type: 'message', data: { content: 'Hi' } },
      { type: 'message', data: { content: '!!!' } },
      { type: 'status', data: { description: 'Stream completed', level: 'info', done: true } },
      { type: 'done', data: { message: 'Stream completed' } },
    ]);
    expect(out[out.length - 1].id).toBe('5-5');
  });

  it('passes a fallback agent taking over as a warning status, and a cancel closes at level warning', async () => {
    const out = await run([
      opening,
      asking('main', 2),
      asking('backup', 3),
      {
        id: '0-4',
        type: 'done',
        data: { message: 'Stream cancelled', messageId: 'a', status: 'cancelled', usage: null },
      },
    ]);
    expect(out.map((f) => f.data)).toEqual([
      { description: 'Sending request...', level: 'info', done: false },
      { description: 'Asking backup', level: 'warning', done: false },
      { description: 'Stream cancelled', level: 'warning', done: true },
      { message: 'Stream cancelled' },
    ]);
  });

  it('closes a failed reply with a status at level error, then the error', async () => {
    const out = await run([
      opening,
      { id: '0-2', type: 'error', data: { code: 'UPSTREAM_FAILED', message: 'n8n answered 500', messageId: 'a' } },
    ]);
    expect(out.slice(1)).toEqual([
      { type: 'status', data: { description: 'n8n answered 500', level: 'error', done: true } },
      { id: '0-2', type: 'error', data: { message: 'n8n answered 500', code: 'UPSTREAM_FAILED' } },
    ]);
  });

  it('maps agents onto the n8n provider: config.model is the model, known config keys are kept, nothing unsent is set', () => {
    expect(
      toCreateAgent({
        name: 'Bot',
        webhook_url: 'https://n8n.example/webhook/x',
        config: { model: 'gpt-4', max_tokens: 10, colour: 'red' },
      }),
    ).toEqual({
      name: 'Bot',
      provider: 'n8n',
      model: 'gpt-4',
      webhookUrl: 'https://n8n.example/webhook/x',
      config: { maxTokens: 10 },
    });
    expect(toCreateAgent({ name: 'Bot' }).model).toBe('n8n-webhook');
    expect(toUpdateAgent({ is_active: false })).toEqual({ isActive: false });
  });

  it('follows the canonical pages to the end, bounded', async () => {
    const pages: Record<string, { items: number[]; nextCursor: string | null }> = {
      start: { items: [1, 2], nextCursor: 'b' },
      b: { items: [3], nextCursor: null },
    };
    expect(await allPages((c) => Promise.resolve(pages[c ?? 'start']))).toEqual([1, 2, 3]);
    expect(await allPages(() => Promise.resolve({ items: [1, 2], nextCursor: 'again' }), 5)).toEqual([1, 2, 1, 2, 1]);
  });
});
