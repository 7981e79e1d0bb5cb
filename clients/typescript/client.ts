import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { type EventOf, followStream, type FollowOptions, type StreamOpener } from './sse';

/**
 * The typed client: openapi-fetch over the generated `schema.d.ts` (`npm run client`), plus the two
 * things a generator cannot write: token refresh (below) and event streams (./sse.ts).
 */
export type { components, paths } from './schema';
export { followStream, StreamHttpError, type EventOf } from './sse';

export type ChatStreamEvent = EventOf<'/api/chats/{id}/messages/{messageId}/stream'>;
export type ResearchStreamEvent = EventOf<'/api/research/sessions/{sessionId}/events'>;
export type TokenResponse = components['schemas']['TokenResponseDto'];

export interface ApiClientOptions {
  /** Where the server is, e.g. http://localhost:3000 */
  baseUrl: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

export interface Tokens {
  accessToken: string | null;
  refreshToken: string | null;
}

const AUTH_PATHS = ['/api/auth/login', '/api/auth/refresh', '/api/auth/register', '/api/auth/logout'];
const isAuthPath = (url: string) => AUTH_PATHS.some((p) => new URL(url).pathname === p);

export interface ApiClient extends Client<paths> {
  /** The tokens in use (set by a successful login or refresh; clear them to log out locally). */
  readonly tokens: Tokens;
  /** Rotates the refresh token for a new pair (done on its own when a request answers 401). */
  refresh(): Promise<boolean>;
  /** Sends a message and follows the reply; resumes on GET …/stream with Last-Event-ID when the connection drops. */
  sendMessage(
    chatId: string,
    body: components['schemas']['SendMessageDto'],
    options?: StreamOptions<ChatStreamEvent>,
  ): AsyncGenerator<ChatStreamEvent>;
  /** Follows (or resumes) a reply. */
  followMessage(
    chatId: string,
    messageId: string,
    options?: StreamOptions<ChatStreamEvent>,
  ): AsyncGenerator<ChatStreamEvent>;
  /** Follows (or resumes) a research session's current run. */
  followResearch(sessionId: string, options?: StreamOptions<ResearchStreamEvent>): AsyncGenerator<ResearchStreamEvent>;
}

export type StreamOptions<E extends { event: string; data: unknown; id?: string }> = Omit<FollowOptions<E>, 'terminal'>;

/**
 * Creates the client. Tokens: a login or refresh response is remembered; every request carries
 * `Authorization: Bearer <access token>`; a 401 triggers one refresh (shared by concurrent requests) and
 * the request is sent again once.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseFetch = options.fetch ?? globalThis.fetch;
  const baseUrl = options.baseUrl.replace(/\/$/, '');
  const tokens: Tokens = { accessToken: null, refreshToken: null };
  const retries = new WeakMap<Request, Request>();
  let refreshing: Promise<boolean> | null = null;

  const remember = (t: TokenResponse) => {
    tokens.accessToken = t.accessToken;
    tokens.refreshToken = t.refreshToken;
  };

  const refresh = (): Promise<boolean> => {
    if (!tokens.refreshToken) return Promise.resolve(false);
    refreshing ??= (async () => {
      const res = await baseFetch(`${baseUrl}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: tokens.refreshToken }),
      });
      if (!res.ok) {
        tokens.accessToken = tokens.refreshToken = null;
        return false;
      }
      remember((await res.json()) as TokenResponse);
      return true;
    })().finally(() => (refreshing = null));
    return refreshing;
  };

  const withAuth = (request: Request): Request => {
    if (tokens.accessToken) request.headers.set('Authorization', `Bearer ${tokens.accessToken}`);
    return request;
  };

  const auth: Middleware = {
    onRequest({ request }) {
      const authed = withAuth(request);
      if (!isAuthPath(request.url)) retries.set(authed, authed.clone());
      return authed;
    },
    async onResponse({ request, response }) {
      const path = new URL(request.url).pathname;
      if ((path === '/api/auth/login' || path === '/api/auth/refresh') && response.ok) {
        remember((await response.clone().json()) as TokenResponse);
      }
      const again = retries.get(request);
      retries.delete(request);
      if (response.status !== 401 || !again || !(await refresh())) return response;
      return baseFetch(withAuth(again));
    },
  };

  const client = createClient<paths>({ baseUrl, fetch: (req: Request) => baseFetch(req) });
  client.use(auth);

  /** A GET/POST that answers a stream, with the token, refreshed once on 401. */
  const streamRequest = async (path: string, init: RequestInit, lastEventId?: string): Promise<Response> => {
    const send = () => {
      const headers = new Headers(init.headers);
      headers.set('Accept', 'text/event-stream');
      if (lastEventId) headers.set('Last-Event-ID', lastEventId);
      if (tokens.accessToken) headers.set('Authorization', `Bearer ${tokens.accessToken}`);
      return baseFetch(`${baseUrl}${path}`, { ...init, headers });
    };
    const res = await send();
    if (res.status !== 401 || !(await refresh())) return res;
    return send();
  };

  const chatTerminal: ChatStreamEvent['event'][] = ['done', 'error'];

  function followMessage(chatId: string, messageId: string, opts: StreamOptions<ChatStreamEvent> = {}) {
    const opener: StreamOpener = (lastEventId) =>
      streamRequest(
        `/api/chats/${encodeURIComponent(chatId)}/messages/${encodeURIComponent(messageId)}/stream`,
        { method: 'GET', signal: opts.signal },
        lastEventId,
      );
    return followStream<ChatStreamEvent>(opener, { ...opts, terminal: chatTerminal });
  }

  async function* sendMessage(
    chatId: string,
    body: components['schemas']['SendMessageDto'],
    opts: StreamOptions<ChatStreamEvent> = {},
  ) {
    // The first request is the POST; a resume needs the assistant message's id, which the first event gives.
    let messageId: string | undefined;
    const opener: StreamOpener = (lastEventId) => {
      if (messageId === undefined) {
        if (lastEventId !== undefined) throw new Error('the reply stream dropped before its first event');
        return streamRequest(`/api/chats/${encodeURIComponent(chatId)}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: opts.signal,
        });
      }
      return streamRequest(
        `/api/chats/${encodeURIComponent(chatId)}/messages/${encodeURIComponent(messageId)}/stream`,
        { method: 'GET', signal: opts.signal },
        lastEventId,
      );
    };
    for await (const event of followStream<ChatStreamEvent>(opener, { ...opts, terminal: chatTerminal })) {
      if (event.event === 'status' && event.data.data.assistantMessageId)
        messageId = event.data.data.assistantMessageId;
      yield event;
    }
  }

  function followResearch(sessionId: string, opts: StreamOptions<ResearchStreamEvent> = {}) {
    const opener: StreamOpener = (lastEventId) =>
      streamRequest(
        `/api/research/sessions/${encodeURIComponent(sessionId)}/events`,
        { method: 'GET', signal: opts.signal },
        lastEventId,
      );
    return followStream<ResearchStreamEvent>(opener, { ...opts, terminal: ['research_complete', 'error'] });
  }

  return Object.assign(client, { tokens, refresh, sendMessage, followMessage, followResearch });
}
