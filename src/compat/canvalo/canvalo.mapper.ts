import type { ChatDetailDto, ChatResponseDto } from 'src/chats/dto/chat-responses.dto';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { CanvaloConversationDto, CanvaloConversationWithMessagesDto } from 'src/compat/canvalo/canvalo.dto';

/** The chat metadata key that tags a chat as a Canvalo conversation of one Canvalo user. */
export const CANVALO_USER_KEY = 'canvalo_user_id';

/** Canvalo's `StreamChunk`: every key present, null when unused (as Pydantic serialises it). */
export interface CanvaloChunk {
  type: 'token' | 'tool_call' | 'complete' | 'error';
  content: string | null;
  tool_call: { id: string; name: string; arguments: string } | null;
  error: string | null;
  agent_type: string | null;
}

const chunk = (type: CanvaloChunk['type'], fields: Partial<CanvaloChunk>): CanvaloChunk => ({
  type,
  content: null,
  tool_call: null,
  error: null,
  agent_type: null,
  ...fields,
});

export const tokenChunk = (content: string, agentType: string | null) =>
  chunk('token', { content, agent_type: agentType });
export const toolCallChunk = (call: { id: string; name: string; arguments: string }, agentType: string | null) =>
  chunk('tool_call', { tool_call: call, agent_type: agentType });
export const completeChunk = (content: string, agentType: string | null) =>
  chunk('complete', { content, agent_type: agentType });
export const errorChunk = (message: string, agentType: string | null = null) =>
  chunk('error', { error: message, agent_type: agentType });

/** `agent_type`: the answering agent's name as a lower-case slug ("Billing Desk" → "billing_desk"). */
export const agentType = (name: string): string =>
  name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '') || 'agent';

/** Canvalo's error body: `{error: {code, message, userMessage, suggestedActions, retryable}}`. */
export interface CanvaloError {
  status: number;
  code: string;
  message: string;
  userMessage: string;
  suggestedActions: string[];
  retryable: boolean;
}

/** Friendly translation of this server's errors (used for HTTP errors and for `error` chunks). */
export function translateError(e: unknown): CanvaloError {
  const app = e instanceof AppError ? e : null;
  const code = app?.code ?? ErrorCode.INTERNAL;
  const message = app?.message ?? 'Internal server error';
  switch (code) {
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.INVALID_CURSOR:
      return {
        status: 422,
        code: 'VALIDATION_ERROR',
        message,
        userMessage: 'The request was not valid.',
        suggestedActions: ['Check the request fields'],
        retryable: false,
      };
    case ErrorCode.UNAUTHORIZED:
      return {
        status: 401,
        code: 'UNAUTHORIZED',
        message,
        userMessage: 'Your session is not authorised.',
        suggestedActions: ['Check the API key'],
        retryable: false,
      };
    case ErrorCode.FORBIDDEN:
      return {
        status: 403,
        code: 'FORBIDDEN',
        message,
        userMessage: 'This action is not allowed.',
        suggestedActions: ['Use a key with the chat scope'],
        retryable: false,
      };
    case ErrorCode.NOT_FOUND:
      return {
        status: 404,
        code: 'NOT_FOUND',
        message,
        userMessage: 'We could not find that conversation.',
        suggestedActions: ['Start a new conversation'],
        retryable: false,
      };
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.BUDGET_EXCEEDED:
    case ErrorCode.UPSTREAM_RATE_LIMITED:
      return {
        status: 429,
        code: 'RATE_LIMITED',
        message,
        userMessage: 'Too many requests right now. Please wait a moment and try again.',
        suggestedActions: ['Wait a few seconds', 'Retry the request'],
        retryable: true,
      };
    case ErrorCode.UPSTREAM_TIMEOUT:
      return {
        status: 504,
        code: 'TIMEOUT',
        message,
        userMessage: 'The assistant took too long to respond. Please try again.',
        suggestedActions: ['Retry the request', 'Ask a shorter question'],
        retryable: true,
      };
    case ErrorCode.UPSTREAM_FAILED:
    case ErrorCode.UPSTREAM_AUTH_FAILED:
    case ErrorCode.CIRCUIT_OPEN:
    case ErrorCode.SERVICE_UNAVAILABLE:
      return {
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        message,
        userMessage: 'The assistant is temporarily unavailable. Please try again in a moment.',
        suggestedActions: ['Retry the request', 'Contact support if it persists'],
        retryable: true,
      };
    case ErrorCode.CONFLICT:
      return {
        status: 409,
        code: 'CONFLICT',
        message,
        userMessage: 'No assistant is available for this team.',
        suggestedActions: ['Ask an administrator to activate an agent'],
        retryable: false,
      };
    default:
      return {
        status: 500,
        code: 'INTERNAL_ERROR',
        message: 'An error occurred',
        userMessage: 'Something went wrong. Please try again.',
        suggestedActions: ['Retry the request', 'Contact support'],
        retryable: true,
      };
  }
}

export function toConversation(
  c: ChatResponseDto,
  userId: string,
  messageCount = 0,
  lastMessageAt: string | null = null,
): CanvaloConversationDto {
  const { [CANVALO_USER_KEY]: _tag, ...metadata } = c.metadata;
  return {
    id: c.id,
    user_id: userId,
    title: c.title,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    last_message_at: lastMessageAt,
    message_count: messageCount,
    metadata,
  };
}

export function toConversationWithMessages(
  c: ChatDetailDto,
  userId: string,
  names: Map<string, string>,
): CanvaloConversationWithMessagesDto {
  const messages = c.messages
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => {
      const agentId = m.routing?.routedTo;
      return {
        id: m.id,
        content: m.content,
        role: m.role as 'user' | 'assistant',
        timestamp: m.createdAt,
        agent_type:
          m.role === 'assistant' && agentId && names.has(agentId) ? agentType(names.get(agentId) as string) : null,
        metadata:
          m.role === 'assistant'
            ? {
                status: m.status,
                ...(m.toolCalls ? { tool_calls: m.toolCalls } : {}),
                ...(m.routing ? { routing: m.routing } : {}),
              }
            : null,
      };
    });
  return {
    ...toConversation(c, userId, messages.length, messages.length ? messages[messages.length - 1].timestamp : null),
    messages,
  };
}
