/**
 * Vana's real frontend logic, ported for the tests of /compat/vana: NickB03/vana at commit
 * 0cc6d930b9d9e467ff4190b08acf8c81287e484c.
 * - `VanaApiClient`: frontend/src/lib/api/client.ts (makeRequest: JSON headers, Bearer token, `detail` of
 *   error bodies, token storage from `tokens`, refresh with `{refresh_token}` reading a flat Token).
 * - `openVanaStream`: frontend/src/hooks/useSSE.ts, the fetch-based reader used for proxied routes
 *   (split on blank lines, `event:`/`data:` lines trimmed, parseEventData: `[DONE]`, nested `{type, data}`
 *   or flat data with the `event:` type). Vana's Next.js proxy (frontend/src/app/api/sse/[...route]/route.ts)
 *   forwards bytes unchanged, so the stream is read from the server directly with the Bearer header.
 * - `VanaChatState`: frontend/src/hooks/chat/sse-event-handlers.ts (research_started, research_progress,
 *   research_complete, error, connection) and message-handlers.ts (sendMessage: local messages, then
 *   startResearch with `{query, message}`), with the store reduced to one session.
 * The store (store.ts) is reduced to one session's messages, progress and flags. Only what these tests need;
 * the logic of what is ported is kept as it is there (e.g. a follow-up's progress lands in the first
 * `assistant-progress` message, as in Vana).
 */
import { randomUUID } from 'node:crypto';

export class APIError extends Error {
  constructor(
    message: string,
    public status_code: number,
  ) {
    super(message);
  }
}

export interface VanaToken {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export class VanaApiClient {
  accessToken: string | null = null;
  refreshToken: string | null = null;
  tokenExpirationTime: number | null = null;

  constructor(public baseURL: string) {}

  saveTokensToStorage(tokens: VanaToken): void {
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    this.tokenExpirationTime = Date.now() + tokens.expires_in * 1000;
  }

  async performTokenRefresh(): Promise<boolean> {
    try {
      const response = await this.makeRequest<VanaToken>('/api/auth/refresh', {
        method: 'POST',
        body: JSON.stringify({ refresh_token: this.refreshToken }),
        headers: { 'Content-Type': 'application/json' },
        skipAuth: true,
      });
      this.saveTokensToStorage(response);
      return true;
    } catch {
      return false;
    }
  }

  async makeRequest<T>(endpoint: string, options: RequestInit & { skipAuth?: boolean } = {}): Promise<T> {
    const { skipAuth = false, ...requestOptions } = options;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      ...((requestOptions.headers as Record<string, string>) || {}),
    };
    if (!skipAuth && this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
    const response = await fetch(`${this.baseURL}${endpoint}`, { ...requestOptions, headers });
    if (!response.ok) {
      const errorText = await response.text();
      let errorDetail = `HTTP ${response.status}`;
      try {
        const errorJson = JSON.parse(errorText);
        errorDetail = errorJson.detail || errorDetail;
      } catch {
        errorDetail = errorText || errorDetail;
      }
      throw new APIError(errorDetail, response.status);
    }
    const contentType = response.headers.get('content-type');
    if (!contentType || !contentType.includes('application/json')) return {} as T;
    return (await response.json()) as T;
  }

  async login(credentials: { username?: string; email?: string; password: string; grant_type?: 'password' }) {
    const response = await this.makeRequest<{ user: any; tokens: VanaToken }>('/api/auth/login', {
      method: 'POST',
      body: JSON.stringify(credentials),
      skipAuth: true,
    });
    this.saveTokensToStorage(response.tokens);
    return response;
  }
  getCurrentUser = () => this.makeRequest<any>('/api/auth/me');
  startResearch = (sessionId: string, request: { query: string; message?: string }) =>
    this.makeRequest<{ success: boolean; session_id: string; message: string; timestamp: string }>(
      `/api/run_sse/${sessionId}`,
      { method: 'POST', body: JSON.stringify(request) },
    );
  getAgentNetworkHistory = (limit = 50) => this.makeRequest<any>(`/agent_network_history?limit=${limit}`);
  async listSessions(): Promise<any[]> {
    const response = await this.makeRequest<{ sessions?: any[] }>('/api/sessions');
    return response.sessions ?? [];
  }
  getSession = (sessionId: string) => this.makeRequest<any>(`/api/sessions/${sessionId}`);
  updateSession = (sessionId: string, payload: Record<string, unknown>) =>
    this.makeRequest<any>(`/api/sessions/${sessionId}`, { method: 'PUT', body: JSON.stringify(payload) });
  appendSessionMessage = (sessionId: string, message: Record<string, unknown>) =>
    this.makeRequest<any>(`/api/sessions/${sessionId}/messages`, { method: 'POST', body: JSON.stringify(message) });
  async deleteSession(sessionId: string): Promise<{ success: boolean; message?: string }> {
    try {
      return await this.makeRequest(`/api/sessions/${sessionId}`, { method: 'DELETE' });
    } catch {
      return { success: false, message: 'Failed to delete session' };
    }
  }
  editMessage = (messageId: string, content: string, triggerRegeneration = true) =>
    this.makeRequest<any>(`/api/messages/${messageId}`, {
      method: 'PUT',
      body: JSON.stringify({ content, trigger_regeneration: triggerRegeneration }),
    });
  deleteMessage = (messageId: string) => this.makeRequest<any>(`/api/messages/${messageId}`, { method: 'DELETE' });
  submitMessageFeedback = (
    messageId: string,
    feedbackType: 'upvote' | 'downvote',
    reason?: string,
    metadata?: Record<string, any>,
  ) =>
    this.makeRequest<any>(`/api/messages/${messageId}/feedback`, {
      method: 'POST',
      body: JSON.stringify({ feedback_type: feedbackType, reason, metadata }),
    });
  regenerateMessage = (messageId: string, context?: string) =>
    this.makeRequest<any>(`/api/messages/${messageId}/regenerate`, {
      method: 'POST',
      body: JSON.stringify({ context }),
    });
  submitFeedback = (feedback: Record<string, unknown>) =>
    this.makeRequest<any>('/feedback', { method: 'POST', body: JSON.stringify(feedback) });
}

export interface AgentNetworkEvent {
  type: string;
  data: Record<string, any>;
}

/** useSSE.ts parseEventData. */
export function parseEventData(data: string, fallbackType?: string): AgentNetworkEvent | null {
  try {
    const trimmedData = data.trim();
    if (!trimmedData) return null;
    if (trimmedData === '[DONE]')
      return { type: 'stream_complete', data: { timestamp: new Date().toISOString(), status: 'done' } };
    if (trimmedData.startsWith(':')) return null;
    const parsed = JSON.parse(trimmedData);
    if (parsed.type && parsed.data)
      return { type: parsed.type, data: { timestamp: new Date().toISOString(), ...parsed.data } };
    return { type: fallbackType || 'unknown', data: { timestamp: new Date().toISOString(), ...parsed } };
  } catch {
    return null;
  }
}

export interface VanaStream {
  /** Resolves with the response status once the headers arrived. */
  opened: Promise<number>;
  events: AgentNetworkEvent[];
  /** The reader's loop ended (the server closed the stream). */
  ended: boolean;
  close(): void;
}

/** useSSE.ts connect() for `/api/sse/...` proxy routes: fetch, then the block reader. */
export function openVanaStream(
  url: string,
  accessToken: string | null,
  onEvent: (e: AgentNetworkEvent) => void,
  extraHeaders: Record<string, string> = {},
): VanaStream {
  const controller = new AbortController();
  const stream: VanaStream = { opened: Promise.resolve(0), events: [], ended: false, close: () => controller.abort() };
  const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache', ...extraHeaders };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`; // the proxy turns x-auth-token into this
  stream.opened = fetch(url, { method: 'GET', headers, signal: controller.signal }).then((response) => {
    if (!response.ok || !response.body) {
      stream.ended = true;
      return response.status;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const processEventBlock = (block: string) => {
      const lines = block.split('\n');
      let eventType: string | undefined;
      const dataLines: string[] = [];
      for (const rawLine of lines) {
        const line = rawLine.trim();
        if (!line) continue;
        if (line.startsWith('event:')) eventType = line.slice(6).trim() || undefined;
        else if (line.startsWith('data:')) dataLines.push(line.slice(5).trim());
      }
      if (!dataLines.length) return;
      const parsedEvent = parseEventData(dataLines.join('\n'), eventType);
      if (parsedEvent) {
        stream.events.push(parsedEvent);
        onEvent(parsedEvent);
      }
    };
    const readStream = async () => {
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let separatorIndex = buffer.indexOf('\n\n');
          while (separatorIndex !== -1) {
            const rawEvent = buffer.slice(0, separatorIndex);
            buffer = buffer.slice(separatorIndex + 2);
            if (rawEvent.trim()) processEventBlock(rawEvent);
            separatorIndex = buffer.indexOf('\n\n');
          }
        }
        if (buffer.trim()) processEventBlock(buffer);
      } catch {
        // aborted by close()
      } finally {
        stream.ended = true;
      }
    };
    void readStream();
    return response.status;
  });
  return stream;
}

export interface ChatMessage {
  id: string;
  content: string;
  role: 'user' | 'assistant' | 'system';
  timestamp: string;
  sessionId: string;
  metadata?: Record<string, any>;
}

/** One session of the chat store, driven by sse-event-handlers.ts and message-handlers.ts. */
export class VanaChatState {
  messages: ChatMessage[] = [];
  progress: Record<string, any> | null = null;
  status = 'idle';
  isStreaming = false;
  error: string | null = null;
  /** Every progress text shown (formatProgressContent), to check what the user saw. */
  shown: string[] = [];
  completions = 0;

  constructor(public sessionId: string) {}

  private ensureProgressMessage(): string {
    const progressMessage = this.messages.find(
      (msg) => msg.role === 'assistant' && msg.metadata?.kind === 'assistant-progress',
    );
    if (progressMessage) return progressMessage.id;
    const messageId = `msg_${randomUUID()}_assistant_progress`;
    this.messages.push({
      id: messageId,
      content: 'Preparing research response...',
      role: 'assistant',
      timestamp: new Date().toISOString(),
      sessionId: this.sessionId,
      metadata: { kind: 'assistant-progress' },
    });
    return messageId;
  }

  private update(messageId: string, content: string): void {
    const m = this.messages.find((x) => x.id === messageId);
    if (m) m.content = content;
    this.shown.push(content);
  }

  /** store.ts completeStreamingMessage: `metadata.completed`, the session stops streaming. */
  private complete(messageId: string): void {
    const m = this.messages.find((x) => x.id === messageId);
    if (m) m.metadata = { ...m.metadata, completed: true };
    this.isStreaming = false;
  }

  formatProgressContent(payload: any): string {
    const phase = payload.current_phase ?? this.progress?.current_phase ?? 'Processing';
    const progressValue =
      typeof payload.overall_progress === 'number'
        ? Math.round(payload.overall_progress <= 1 ? payload.overall_progress * 100 : payload.overall_progress)
        : undefined;
    const lines: string[] = [`**${phase}**`];
    if (typeof progressValue === 'number') lines.push(`Progress: ${Math.min(100, Math.max(0, progressValue))}%`);
    if (payload && typeof payload.partial_results === 'object' && payload.partial_results !== null) {
      const previewEntries = Object.entries(payload.partial_results).slice(0, 2);
      if (previewEntries.length > 0) {
        lines.push(
          previewEntries
            .map(
              ([key, value]) =>
                `- ${key.replace(/_/g, ' ')}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
            )
            .join('\n'),
        );
      }
    }
    return lines.join('\n\n');
  }

  private mergeProgressSnapshot(overrides: Record<string, any>): void {
    const previous = this.progress;
    this.progress = {
      session_id: this.sessionId,
      status: overrides.status ?? previous?.status ?? 'running',
      overall_progress: overrides.overall_progress ?? previous?.overall_progress ?? 0,
      current_phase: overrides.current_phase ?? previous?.current_phase ?? 'Processing',
      agents: overrides.agents ?? previous?.agents ?? [],
      partial_results: overrides.partial_results ?? previous?.partial_results,
      final_report: overrides.final_report ?? previous?.final_report,
      error: overrides.error ?? previous?.error,
    };
    this.status = this.progress.status;
  }

  /** sse-event-handlers.ts, the research effect. */
  handle(event: AgentNetworkEvent): void {
    const { type } = event;
    const payload = event.data ?? {};
    switch (type) {
      case 'research_started': {
        const messageId = this.ensureProgressMessage();
        this.update(messageId, 'Research session acknowledged. Coordinating agent network...');
        this.isStreaming = true;
        break;
      }
      case 'research_update':
      case 'research_progress': {
        const messageId = this.ensureProgressMessage();
        const content =
          type === 'research_update'
            ? payload.content || this.formatProgressContent(payload)
            : this.formatProgressContent(payload);
        this.update(messageId, content);
        this.mergeProgressSnapshot({
          status: payload.status ?? 'running',
          overall_progress:
            typeof payload.overall_progress === 'number'
              ? payload.overall_progress <= 1
                ? payload.overall_progress
                : payload.overall_progress / 100
              : undefined,
          current_phase: payload.current_phase,
          partial_results: payload.partial_results,
          agents: Array.isArray(payload.agents) ? payload.agents : undefined,
        });
        this.isStreaming = true;
        break;
      }
      case 'research_complete': {
        const messageId = this.ensureProgressMessage();
        const finalReport = payload.final_report || payload.message || 'Research complete. (No report returned)';
        this.update(messageId, finalReport);
        this.complete(messageId);
        this.mergeProgressSnapshot({
          status: 'completed',
          overall_progress: 1,
          current_phase: payload.current_phase ?? 'Research complete',
          final_report: finalReport,
        });
        this.isStreaming = false;
        this.completions++;
        break;
      }
      case 'error': {
        const messageId = this.ensureProgressMessage();
        const message = payload.message || payload.error || 'An error occurred during research.';
        this.update(messageId, `Error: ${message}`);
        this.complete(messageId);
        this.mergeProgressSnapshot({ status: 'error', error: message });
        this.error = message;
        this.isStreaming = false;
        break;
      }
      case 'connection':
        if (payload.status === 'disconnected') this.isStreaming = false;
        break;
      default:
        break;
    }
  }

  /** message-handlers.ts sendMessage: local user + progress messages, then startResearch with `{query, message}`. */
  async sendMessage(client: VanaApiClient, content: string): Promise<void> {
    this.messages.push({
      id: `msg_${randomUUID()}_user`,
      content: content.trim(),
      role: 'user',
      timestamp: new Date().toISOString(),
      sessionId: this.sessionId,
    });
    this.messages.push({
      id: `msg_${randomUUID()}_assistant`,
      content: 'Initializing research pipeline...',
      role: 'assistant',
      timestamp: new Date().toISOString(),
      sessionId: this.sessionId,
      metadata: { kind: 'assistant-progress' },
    });
    this.status = 'running';
    this.isStreaming = true;
    const response = await client.startResearch(this.sessionId, { query: content, message: content });
    if (!response.success) throw new Error(response.message || 'Failed to start research');
  }
}
