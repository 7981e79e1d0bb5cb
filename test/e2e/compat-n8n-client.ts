/**
 * What the n8n chat backend's frontend does, for the compat e2e tests: `fetch` with `credentials: 'include'`
 * (a cookie jar that honours each cookie's Path as a browser does, and the page's Origin on every request)
 * and the seed-003 / seed-001 `ReadableStream` reader, ported line for line.
 */

export const ORIGIN = 'http://localhost:5173';

interface StoredCookie {
  value: string;
  path: string;
}

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One browser profile: its cookies and the page origin it sends from. */
export class N8nBrowser {
  readonly cookies = new Map<string, StoredCookie>();

  /** `base`: the frontend's API base URL, e.g. `http://127.0.0.1:1234/compat/n8n`. */
  constructor(
    readonly base: string,
    readonly origin: string | null = ORIGIN,
  ) {}

  /** `fetch(base + path, {credentials: 'include', …})`. */
  async fetch(
    path: string,
    init: { method?: string; body?: unknown; form?: FormData; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = new URL(this.base + path);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.origin) headers.Origin = this.origin;
    const cookie = [...this.cookies.entries()]
      .filter(
        ([, c]) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    if (cookie) headers.Cookie = cookie;
    const body = init.form ?? init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
    this.store(res.headers.getSetCookie());
    return res;
  }

  async json<T = any>(
    path: string,
    init: { method?: string; body?: unknown; form?: FormData } = {},
  ): Promise<JsonResponse<T>> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as T) : (undefined as T), headers: res.headers };
  }

  /** The cookie as the browser keeps it (name → value and path). */
  cookie(name: string): StoredCookie | undefined {
    return this.cookies.get(name);
  }

  private store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = decodeURIComponent(pair.slice(eq + 1));
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired =
        attrs.some((a) => a.toLowerCase().startsWith('expires=') && new Date(a.slice(8)).getTime() <= Date.now()) ||
        attrs.some((a) => /^max-age=0$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }
}

export interface SeedEvent {
  type: string;
  data: any;
}

/**
 * The frontend's reader from seed 001 ("Frontend Integration", React example), as seed 003 describes it
 * ("Receive SSE events via ReadableStream, parse `data: ` lines, extract JSON, append message chunks"):
 * unchanged logic, with the `setResponse(prev => prev + …)` state kept in `text` and every parsed event kept
 * in `events` so the tests can compare the sequence.
 */
export async function readLikeSeedFrontend(response: Response): Promise<{ text: string; events: SeedEvent[] }> {
  let text = '';
  const events: SeedEvent[] = [];
  const setResponse = (f: (prev: string) => string) => (text = f(text));

  const reader = response.body!.getReader();
  const decoder = new TextDecoder();

  while (true) {
    const { value, done } = await reader.read();
    if (done) break;

    const chunk = decoder.decode(value);
    const lines = chunk.split('\n');

    for (const line of lines) {
      if (line.startsWith('data: ')) {
        const data = JSON.parse(line.slice(6));
        events.push(data);
        if (data.type === 'message') {
          setResponse((prev) => prev + data.data.content);
        }
      }
    }
  }
  return { text, events };
}
