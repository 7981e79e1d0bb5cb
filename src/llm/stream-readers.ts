/**
 * Incremental readers over a fetch body (bytes → text lines → SSE events). Used by adapters that speak
 * HTTP themselves (n8n); the SDK-based adapters let their SDK parse the wire format.
 */
export type ByteSource = AsyncIterable<Uint8Array>;

/** Decoded text pieces as they arrive (UTF-8 sequences split across chunks are handled). */
export async function* readText(body: ByteSource): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** Lines without their terminator (`\n`, `\r\n` or `\r`). A last line without terminator is yielded too. */
export async function* readLines(texts: AsyncIterable<string>): AsyncGenerator<string> {
  let buffer = '';
  let pendingCr = false;
  for await (const text of texts) {
    buffer += text;
    if (pendingCr && buffer.startsWith('\n')) buffer = buffer.slice(1);
    pendingCr = false;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      yield buffer.slice(start, i);
      if (c === '\r') {
        if (i + 1 < buffer.length) {
          if (buffer[i + 1] === '\n') i++;
        } else {
          pendingCr = true;
        }
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
  }
  if (buffer) yield buffer;
}

export interface SseEvent {
  event: string | null;
  data: string;
}

/** Server-sent events per the HTML spec: `data:` lines joined by `\n`, dispatched on a blank line. */
export async function* readSseEvents(lines: AsyncIterable<string>): AsyncGenerator<SseEvent> {
  let data: string[] = [];
  let event: string | null = null;
  for await (const line of lines) {
    if (line === '') {
      if (data.length) yield { event, data: data.join('\n') };
      data = [];
      event = null;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  }
  if (data.length) yield { event, data: data.join('\n') };
}
