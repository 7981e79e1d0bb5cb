import {
  FakeReply,
  FakeUsage,
  RecordedRequest,
  ScriptedHttpServer,
  StreamEncoding,
} from 'test/fakes/scripted-http-server';

/**
 * Speaks the OpenAI Chat Completions API (what LiteLLM proxy, OpenRouter, vLLM… also serve):
 * - `POST /v1/chat/completions` with `"stream": true` → `text/event-stream` of `chat.completion.chunk`
 *   objects: a first chunk with `delta.role`, one chunk per delta, a chunk with `finish_reason: "stop"`,
 *   (with `toolCalls`: `delta.tool_calls` pieces and `finish_reason: "tool_calls"`),
 *   then (when `stream_options.include_usage`) a usage chunk with `"choices": []`, then `data: [DONE]`;
 * - the same without `stream` → one `chat.completion` JSON;
 * - errors: `{"error":{"message":"…","type":"…","param":null,"code":…}}`.
 * Use the base URL plus `/v1` as the SDK's `baseURL`. The key arrives as `Authorization: Bearer …`.
 */
export class FakeOpenAiServer extends ScriptedHttpServer {
  protected accepts(method: string, path: string): boolean {
    return method === 'POST' && path === '/v1/chat/completions';
  }

  protected errorBody(status: number): unknown {
    const types: Record<number, string> = {
      400: 'invalid_request_error',
      401: 'invalid_request_error',
      403: 'permission_error',
      404: 'not_found_error',
      429: 'rate_limit_exceeded',
    };
    return {
      error: {
        message: `fake openai error ${status}`,
        type: types[status] ?? 'server_error',
        param: null,
        code: status === 401 ? 'invalid_api_key' : null,
      },
    };
  }

  protected encoding(req: RecordedRequest, reply: FakeReply): StreamEncoding | null {
    if (req.body?.stream !== true) return null;
    const includeUsage = req.body?.stream_options?.include_usage === true;
    const base = {
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: String(req.body?.model ?? ''),
      system_fingerprint: 'fp_fake',
    };
    const frame = (choices: unknown[], usage?: unknown): string =>
      `data: ${JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: usage ?? null } : {}) })}\n\n`;
    return {
      contentType: 'text/event-stream; charset=utf-8',
      start: () =>
        frame([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
      delta: (text) => frame([{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }]),
      end: (u) => {
        const calls = reply.toolCalls ?? [];
        let out = '';
        calls.forEach((c, index) => {
          out += frame([
            {
              index: 0,
              delta: { tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] },
              logprobs: null,
              finish_reason: null,
            },
          ]);
          for (const piece of c.argumentPieces)
            out += frame([
              {
                index: 0,
                delta: { tool_calls: [{ index, function: { arguments: piece } }] },
                logprobs: null,
                finish_reason: null,
              },
            ]);
        });
        out += frame([{ index: 0, delta: {}, logprobs: null, finish_reason: calls.length ? 'tool_calls' : 'stop' }]);
        if (includeUsage) out += frame([], openAiUsage(u));
        return `${out}data: [DONE]\n\n`;
      },
      malformed: () => 'data: {"id":"chatcmpl-fake","choices":[{"delta":{"content":"brok\n\n',
    };
  }

  protected jsonFor(req: RecordedRequest, reply: FakeReply, deltas: string[], usage: FakeUsage): unknown {
    const body = this.jsonReply(req, deltas.join(''), usage) as {
      choices: Array<{ message: Record<string, unknown>; finish_reason: string }>;
    };
    if (reply.toolCalls?.length) {
      body.choices[0].message.tool_calls = reply.toolCalls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.argumentPieces.join('') },
      }));
      body.choices[0].finish_reason = 'tool_calls';
    }
    return body;
  }

  protected jsonReply(req: RecordedRequest, text: string, usage: FakeUsage): unknown {
    return {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 1700000000,
      model: String(req.body?.model ?? ''),
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: openAiUsage(usage),
      system_fingerprint: 'fp_fake',
    };
  }
}

function openAiUsage(u: FakeUsage): Record<string, number> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
}
