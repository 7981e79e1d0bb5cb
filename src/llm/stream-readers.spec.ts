import { readLines, readSseEvents, readText } from 'src/llm/stream-readers';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('stream readers', () => {
  it('decodes UTF-8 split across chunks', async () => {
    const b = bytes('héllo ✓');
    const parts = [b.slice(0, 2), b.slice(2, 7), b.slice(7)];
    expect((await all(readText(from(parts)))).join('')).toBe('héllo ✓');
  });

  it('splits lines on \\n, \\r\\n and \\r, including a \\r\\n split across chunks', async () => {
    expect(await all(readLines(from(['a\nb\r', '\nc\rd', '\n\ne'])))).toEqual(['a', 'b', 'c', 'd', '', 'e']);
  });

  it('parses SSE events: multi-line data, comments, event names, CRLF', async () => {
    const text = ': comment\r\ndata: {"a":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata:[DONE]\n\n';
    const events = await all(readSseEvents(readLines(from([text]))));
    expect(events).toEqual([
      { event: null, data: '{"a":1}' },
      { event: 'x', data: 'line1\nline2' },
      { event: null, data: '[DONE]' },
    ]);
  });

  it('dispatches a last event without a trailing blank line', async () => {
    expect(await all(readSseEvents(readLines(from(['data: tail']))))).toEqual([{ event: null, data: 'tail' }]);
  });
});
