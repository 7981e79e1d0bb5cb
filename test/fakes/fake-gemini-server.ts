import {
  FakeReply,
  FakeUsage,
  RecordedRequest,
  ScriptedHttpServer,
  StreamEncoding,
} from 'test/fakes/scripted-http-server';

/**
 * Speaks the Gemini API as `@google/genai` calls it (3.x calls `/v1/...` by default, 2.x called `/v1beta/...`;
 * both are accepted):
 * - `POST /v1/models/{model}:streamGenerateContent?alt=sse` → `text/event-stream`, each event
 *   `data: {"candidates":[{"content":{"parts":[{"text":"…"}],"role":"model"},"index":0}],"usageMetadata":{…},"modelVersion":"…"}\r\n\r\n`,
 *   the last one with `"finishReason":"STOP"` and the final usage (Gemini sends no [DONE]); with
 *   `toolCalls`, the last one carries `{"functionCall":{"name","args"}}` parts instead of text;
 * - `POST /v1/models/{model}:generateContent` → one GenerateContentResponse JSON;
 * - errors: `{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}`.
 * The API key arrives in the `x-goog-api-key` header; `modelOf(req)` gives the model from the path.
 */
export class FakeGeminiServer extends ScriptedHttpServer {
  static modelOf(req: RecordedRequest): string {
    return /\/models\/([^:/?]+):/.exec(req.url)?.[1] ?? '';
  }

  protected accepts(method: string, path: string): boolean {
    return method === 'POST' && /^\/v1(beta)?\/models\/[^/]+:(streamGenerateContent|generateContent)$/.test(path);
  }

  protected errorBody(status: number): unknown {
    const names: Record<number, string> = {
      400: 'INVALID_ARGUMENT',
      401: 'UNAUTHENTICATED',
      403: 'PERMISSION_DENIED',
      404: 'NOT_FOUND',
      429: 'RESOURCE_EXHAUSTED',
      503: 'UNAVAILABLE',
    };
    return { error: { code: status, message: `fake gemini error ${status}`, status: names[status] ?? 'INTERNAL' } };
  }

  protected encoding(req: RecordedRequest, reply: FakeReply): StreamEncoding | null {
    if (!req.url.includes(':streamGenerateContent')) return null;
    const model = FakeGeminiServer.modelOf(req);
    const frame = (obj: unknown): string => `data: ${JSON.stringify(obj)}\r\n\r\n`;
    let sent = 0;
    return {
      contentType: 'text/event-stream',
      delta: (text) => {
        sent++;
        return frame({
          candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0 }],
          usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 + sent },
          modelVersion: model,
          responseId: 'fake-response',
        });
      },
      end: (usage) =>
        // Function calls come whole, as `functionCall` parts (with `toolCalls`), in the last chunk.
        frame({
          candidates: [
            {
              content: { parts: functionCallParts(reply) ?? [{ text: '' }], role: 'model' },
              finishReason: 'STOP',
              index: 0,
            },
          ],
          usageMetadata: usageMetadata(usage),
          modelVersion: model,
          responseId: 'fake-response',
        }),
      malformed: () => 'data: {"candidates":[{"content":{"parts":[{"text":"brok\r\n\r\n',
    };
  }

  protected jsonReply(req: RecordedRequest, text: string, usage: FakeUsage): unknown {
    return {
      candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: usageMetadata(usage),
      modelVersion: FakeGeminiServer.modelOf(req),
      responseId: 'fake-response',
    };
  }
}

function functionCallParts(reply: FakeReply): unknown[] | null {
  if (!reply.toolCalls?.length) return null;
  return reply.toolCalls.map((c) => ({
    functionCall: { name: c.name, args: JSON.parse(c.argumentPieces.join('') || '{}') },
  }));
}

function usageMetadata(u: FakeUsage): Record<string, number> {
  return {
    promptTokenCount: u.promptTokens,
    candidatesTokenCount: u.completionTokens,
    totalTokenCount: u.promptTokens + u.completionTokens,
  };
}
