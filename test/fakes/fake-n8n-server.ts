import {
  FakeReply,
  FakeUsage,
  RecordedRequest,
  ScriptedHttpServer,
  StreamEncoding,
} from 'test/fakes/scripted-http-server';

/** How the fake n8n webhook answers. */
export type N8nFormat =
  /** `application/json` stream of `{"type":"begin"|"item"|"end",…}\n` objects (n8n "Streaming" response mode). */
  | 'ndjson'
  /** `text/event-stream` of `data: {"content":"…"}` events, ended by `data: [DONE]`. */
  | 'sse'
  /** One JSON document `{"content":"…"}` ("Respond to Webhook" with JSON). */
  | 'json'
  /** One JSON document `{"output":"…"}` (the AI Agent node's default output). */
  | 'json-output'
  /** A JSON array `[{"output":"…"}, …]`, one element per delta (n8n "All incoming items"). */
  | 'json-array';

export interface N8nFakeReply extends FakeReply {
  /** Default: the server's `format` (constructor), itself 'ndjson' by default. */
  format?: N8nFormat;
}

/**
 * An n8n webhook: accepts `POST` on any path (use `${baseUrl}/webhook/<id>` as the agent's webhookUrl),
 * records `{messages, system_prompt, config}` and the `Authorization: Bearer …` header, and answers in
 * one of the formats above. Errors: `{"code":500,"message":"…"}` like n8n's own error responses.
 * Usage (when streaming) rides on the `end` object / last SSE event / the JSON document as `usage`.
 */
export class FakeN8nServer extends ScriptedHttpServer {
  constructor(private readonly format: N8nFormat = 'ndjson') {
    super();
  }

  enqueue(...replies: N8nFakeReply[]): this {
    return super.enqueue(...replies);
  }

  setDefault(reply: N8nFakeReply): this {
    return super.setDefault(reply);
  }

  protected accepts(method: string): boolean {
    return method === 'POST';
  }

  protected errorBody(status: number): unknown {
    return { code: status, message: `fake n8n error ${status}` };
  }

  protected encoding(_req: RecordedRequest, reply: N8nFakeReply): StreamEncoding | null {
    const format = reply.format ?? this.format;
    if (format === 'sse') {
      return {
        contentType: 'text/event-stream',
        delta: (text) => `data: ${JSON.stringify({ content: text })}\n\n`,
        end: (u) => `data: ${JSON.stringify({ usage: u })}\n\ndata: [DONE]\n\n`,
        malformed: () => 'data: {"content": "brok\n\n',
      };
    }
    if (format === 'ndjson') {
      const meta = { nodeId: 'agent-1', nodeName: 'AI Agent', itemIndex: 0, runIndex: 0, timestamp: 1700000000000 };
      return {
        contentType: 'application/json; charset=utf-8',
        start: () => `${JSON.stringify({ type: 'begin', metadata: meta })}\n`,
        delta: (text) => `${JSON.stringify({ type: 'item', content: text, metadata: meta })}\n`,
        end: (u) => `${JSON.stringify({ type: 'end', metadata: meta, usage: u })}\n`,
        malformed: () => '{"type":"item","content":"brok\n',
      };
    }
    return null;
  }

  protected jsonReply(_req: RecordedRequest, text: string, usage: FakeUsage): unknown {
    return { content: text, usage };
  }

  /** The plain-JSON shapes need the deltas, not only the joined text. */
  protected override jsonFor(req: RecordedRequest, reply: N8nFakeReply, deltas: string[], usage: FakeUsage): unknown {
    const format = reply.format ?? this.format;
    if (format === 'json-output') return { output: deltas.join('') };
    if (format === 'json-array') return deltas.map((d) => ({ output: d }));
    return this.jsonReply(req, deltas.join(''), usage);
  }
}
