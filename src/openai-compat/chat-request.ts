import type { LlmMessage, LlmRequestOptions, LlmToolChoice, LlmToolDefinition } from 'src/llm/llm.types';
import { OpenAiError } from 'src/openai-compat/openai-errors';

/** A validated `POST /v1/chat/completions` body, in the provider layer's terms. */
export interface ChatCompletionRequest {
  model: string;
  messages: LlmMessage[];
  stream: boolean;
  includeUsage: boolean;
  options: LlmRequestOptions;
  /** OpenAI's end-user id: logged, not interpreted. */
  user: string | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_MESSAGES = 1000;
const MAX_TOOLS = 128;

/**
 * Checks the body field by field with OpenAI's error shape (`param` names the field). Fields the API
 * accepts but does not act on (`top_p`, `presence_penalty`, `seed`, `parallel_tool_calls`, …) are ignored,
 * as the clients that send them expect; `n` other than 1 is refused.
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  if (!isObject(body)) throw OpenAiError.invalid('The request body must be a JSON object.');
  const model = body.model;
  if (typeof model !== 'string' || !model) throw OpenAiError.invalid('you must provide a model parameter', 'model');
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    throw OpenAiError.invalid("'messages' must be a non-empty array", 'messages');
  if (body.messages.length > MAX_MESSAGES)
    throw OpenAiError.invalid(`'messages' has more than ${MAX_MESSAGES} items`, 'messages');
  const messages = body.messages.map((m, i) => parseMessage(m, `messages[${i}]`));
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw OpenAiError.invalid('Only n=1 is supported.', 'n');
  const stream = optional(body, 'stream', 'boolean') ?? false;
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions))
    throw OpenAiError.invalid("'stream_options' must be an object", 'stream_options');
  if (streamOptions && !stream)
    throw OpenAiError.invalid('The stream_options parameter is only allowed when stream is enabled.', 'stream_options');
  const includeUsage = isObject(streamOptions) && streamOptions.include_usage === true;

  const temperature = optional(body, 'temperature', 'number');
  if (temperature !== undefined && (temperature < 0 || temperature > 2))
    throw OpenAiError.invalid('temperature must be between 0 and 2', 'temperature');
  const maxCompletion = optional(body, 'max_completion_tokens', 'number');
  const maxTokensField = optional(body, 'max_tokens', 'number');
  const maxTokens = maxCompletion ?? maxTokensField;
  const maxParam = maxCompletion !== undefined ? 'max_completion_tokens' : 'max_tokens';
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1))
    throw OpenAiError.invalid(`${maxParam} must be a positive integer`, maxParam);
  const stop = parseStop(body.stop);
  const tools = parseTools(body.tools);
  const toolChoice = parseToolChoice(body.tool_choice, tools);
  const user = optional(body, 'user', 'string') ?? null;
  return {
    model,
    messages,
    stream,
    includeUsage,
    user,
    options: {
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(stop ? { stop } : {}),
      ...(tools ? { tools } : {}),
      ...(toolChoice ? { toolChoice } : {}),
    },
  };
}

function optional<T extends 'string' | 'number' | 'boolean'>(
  body: Json,
  key: string,
  type: T,
): (T extends 'string' ? string : T extends 'number' ? number : boolean) | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v)))
    throw OpenAiError.invalid(`'${key}' must be a ${type}`, key);
  return v as never;
}

/** `content` as text: a string, or an array of `{type:'text', text}` parts (other part types are refused). */
function textOf(content: unknown, param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw OpenAiError.invalid(`'${param}' must be a string or an array of content parts`, param);
  return content
    .map((p, i) => {
      if (isObject(p) && (p.type === 'text' || p.type === 'input_text') && typeof p.text === 'string') return p.text;
      throw OpenAiError.invalid(`Only text content parts are supported ('${param}[${i}]').`, `${param}[${i}]`);
    })
    .join('');
}

function parseMessage(m: unknown, param: string): LlmMessage {
  if (!isObject(m)) throw OpenAiError.invalid(`'${param}' must be an object`, param);
  const role = m.role;
  const content = textOf(m.content, `${param}.content`);
  switch (role) {
    case 'system':
    case 'developer':
      return { role: 'system', content };
    case 'user':
      return { role: 'user', content };
    case 'assistant': {
      const calls = m.tool_calls;
      if (calls === undefined || calls === null) return { role: 'assistant', content };
      if (!Array.isArray(calls))
        throw OpenAiError.invalid(`'${param}.tool_calls' must be an array`, `${param}.tool_calls`);
      const toolCalls = calls.map((c, i) => {
        const p = `${param}.tool_calls[${i}]`;
        if (!isObject(c) || typeof c.id !== 'string' || !isObject(c.function) || typeof c.function.name !== 'string') {
          throw OpenAiError.invalid(`'${p}' must have an id and a function with a name`, p);
        }
        const args = c.function.arguments;
        return {
          id: c.id,
          name: c.function.name,
          arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
        };
      });
      return { role: 'assistant', content, toolCalls };
    }
    case 'tool':
      if (typeof m.tool_call_id !== 'string' || !m.tool_call_id)
        throw OpenAiError.invalid(`'${param}.tool_call_id' is required for a tool message`, `${param}.tool_call_id`);
      return { role: 'tool', content, toolCallId: m.tool_call_id };
    default:
      throw OpenAiError.invalid(
        `Invalid value for '${param}.role': expected one of 'system', 'developer', 'user', 'assistant' or 'tool'.`,
        `${param}.role`,
      );
  }
}

function parseStop(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw OpenAiError.invalid("'stop' must be a string or an array of at most 4 strings", 'stop');
  }
  return list as string[];
}

function parseTools(tools: unknown): LlmToolDefinition[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools) || tools.length > MAX_TOOLS)
    throw OpenAiError.invalid(`'tools' must be an array of at most ${MAX_TOOLS} tools`, 'tools');
  return tools.map((t, i) => {
    const p = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function))
      throw OpenAiError.invalid(`'${p}' must be {"type":"function","function":{…}}`, p);
    const f = t.function;
    if (typeof f.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(f.name))
      throw OpenAiError.invalid(`'${p}.function.name' must match ^[a-zA-Z0-9_-]{1,64}$`, `${p}.function.name`);
    if (f.description !== undefined && typeof f.description !== 'string')
      throw OpenAiError.invalid(`'${p}.function.description' must be a string`, `${p}.function.description`);
    if (f.parameters !== undefined && !isObject(f.parameters))
      throw OpenAiError.invalid(`'${p}.function.parameters' must be a JSON Schema object`, `${p}.function.parameters`);
    return {
      name: f.name,
      ...(f.description !== undefined ? { description: f.description } : {}),
      ...(f.parameters ? { parameters: f.parameters } : {}),
    };
  });
}

function parseToolChoice(choice: unknown, tools: LlmToolDefinition[] | undefined): LlmToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (
    isObject(choice) &&
    choice.type === 'function' &&
    isObject(choice.function) &&
    typeof choice.function.name === 'string'
  ) {
    const name = choice.function.name;
    if (!tools?.some((t) => t.name === name))
      throw OpenAiError.invalid(`tool_choice names '${name}', which is not in 'tools'`, 'tool_choice');
    return { name };
  }
  throw OpenAiError.invalid(
    '\'tool_choice\' must be \'auto\', \'none\', \'required\' or {"type":"function","function":{"name":…}}',
    'tool_choice',
  );
}
