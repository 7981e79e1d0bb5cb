import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { parseChatCompletionRequest } from 'src/openai-compat/chat-request';
import { OpenAiError, toOpenAiError } from 'src/openai-compat/openai-errors';

const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const fails = (body: unknown): OpenAiError => {
  try {
    parseChatCompletionRequest(body);
  } catch (e) {
    return e as OpenAiError;
  }
  throw new Error('expected a refusal');
};

describe('parseChatCompletionRequest', () => {
  it('maps OpenAI messages (developer as system, text parts joined, tool calls and results) to the provider layer', () => {
    const r = parseChatCompletionRequest({
      model: 'agent',
      messages: [
        { role: 'developer', content: 'be nice' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
    });
    expect(r.messages).toEqual([
      { role: 'system', content: 'be nice' },
      { role: 'user', content: 'ab' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'f', arguments: '{"x":1}' }] },
      { role: 'tool', content: 'ok', toolCallId: 'c1' },
    ]);
    expect(r.stream).toBe(false);
  });

  it('takes max_completion_tokens over max_tokens, a single stop string as a list, and a named tool_choice', () => {
    const r = parseChatCompletionRequest({
      ...base,
      max_tokens: 10,
      max_completion_tokens: 20,
      stop: 'END',
      temperature: 0,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      stream: true,
      stream_options: { include_usage: true },
      top_p: 0.5,
    });
    expect(r.options).toEqual({
      temperature: 0,
      maxTokens: 20,
      stop: ['END'],
      tools: [{ name: 'f', parameters: { type: 'object' } }],
      toolChoice: { name: 'f' },
    });
    expect(r.includeUsage).toBe(true);
  });

  it.each([
    [{ messages: base.messages }, 'model'],
    [{ model: 'm', messages: [] }, 'messages'],
    [{ ...base, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    [{ ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
    [
      { ...base, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
      'messages[0].content[0]',
    ],
    [{ ...base, n: 2 }, 'n'],
    [{ ...base, temperature: 3 }, 'temperature'],
    [{ ...base, max_tokens: 0 }, 'max_tokens'],
    [{ ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ ...base, stream_options: { include_usage: true } }, 'stream_options'],
    [{ ...base, tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools[0].function.name'],
    [{ ...base, tool_choice: { type: 'function', function: { name: 'missing' } } }, 'tool_choice'],
  ])('refuses %j with a 400 naming %s', (body, param) => {
    const e = fails(body);
    expect(e).toBeInstanceOf(OpenAiError);
    expect(e.status).toBe(400);
    expect(e.type).toBe('invalid_request_error');
    expect(e.param).toBe(param);
  });
});

describe('toOpenAiError', () => {
  it.each([
    [ErrorCode.UNAUTHORIZED, 401, 'invalid_api_key'],
    [ErrorCode.FORBIDDEN, 403, 'insufficient_permissions'],
    [ErrorCode.RATE_LIMITED, 429, 'rate_limit_exceeded'],
    [ErrorCode.BUDGET_EXCEEDED, 429, 'insufficient_quota'],
    [ErrorCode.UPSTREAM_TIMEOUT, 503, 'upstream_timeout'],
    [ErrorCode.CIRCUIT_OPEN, 503, 'circuit_open'],
    [ErrorCode.INTERNAL, 500, null],
  ])('maps %s to %i with code %s', (code, status, openAiCode) => {
    const e = toOpenAiError(new AppError(code, 'x'));
    expect([e.status, e.code]).toEqual([status, openAiCode]);
  });

  it('never leaks the message of an unexpected error', () => {
    const e = toOpenAiError(new Error('SELECT * FROM secrets'));
    expect(e.status).toBe(500);
    expect(e.message).not.toContain('SELECT');
  });
});
