import type { LlmRouting } from 'src/llm/llm.types';
import { Message, MessageUsage } from 'src/chats/entities/message.entity';
import { StreamEvent } from 'src/streaming/stream-event';

/** The stream log key of an assistant message. */
export const chatStreamKey = (messageId: string): string => `chat:${messageId}`;

/** The error code a message gets when its job died or the process stopped mid-generation. */
export const INTERRUPTED = 'INTERRUPTED';

export interface StatusEventData {
  description: string;
  level: 'info' | 'warning';
  done: boolean;
  userMessageId?: string | null;
  assistantMessageId?: string;
  agentId?: string;
  model?: string;
  /** A router's decision (issue 16): the agent that answers, why, and the whole decision. */
  routedTo?: string;
  reason?: string;
  routing?: LlmRouting;
}
export interface MessageEventData {
  content: string;
}
/** A tool call of the model: `arguments` is the JSON text received so far (complete in the call's last event). */
export interface ToolCallEventData {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Assembles OpenAI-style tool-call pieces (first piece: index, id, name; then argument text) into calls.
 * `add` returns the call as it stands after the piece (what a `tool_call` event carries).
 */
export class ToolCallAccumulator {
  private readonly calls = new Map<number, ToolCallEventData>();

  add(piece: { index: number; id?: string; name?: string; arguments: string }): ToolCallEventData {
    const prev = this.calls.get(piece.index);
    const call = prev
      ? { ...prev, arguments: prev.arguments + piece.arguments }
      : { id: piece.id ?? `call_${piece.index}`, name: piece.name ?? '', arguments: piece.arguments };
    this.calls.set(piece.index, call);
    return call;
  }

  get size(): number {
    return this.calls.size;
  }

  list(): ToolCallEventData[] {
    return [...this.calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  }
}

export interface DoneEventData {
  message: string;
  messageId: string;
  status: 'complete' | 'cancelled';
  usage: MessageUsage | null;
}
export interface ErrorEventData {
  code: string;
  message: string;
  messageId: string;
}

export const TERMINAL_EVENT_TYPES = new Set(['done', 'error']);

/** The terminal event's data for a message that reached a terminal status. */
export function terminalEventFor(m: Pick<Message, 'id' | 'status' | 'usage' | 'errorCode' | 'errorMessage'>): {
  type: 'done' | 'error';
  data: DoneEventData | ErrorEventData;
} {
  if (m.status === 'error') {
    return {
      type: 'error',
      data: { code: m.errorCode ?? 'INTERNAL', message: m.errorMessage ?? 'Generation failed', messageId: m.id },
    };
  }
  const cancelled = m.status === 'cancelled';
  return {
    type: 'done',
    data: {
      message: cancelled ? 'Stream cancelled' : 'Stream completed',
      messageId: m.id,
      status: cancelled ? 'cancelled' : 'complete',
      usage: m.usage ?? null,
    },
  };
}

/**
 * The part of a `message` event not yet covered by `delivered` code units of content (ids carry the
 * offset the event ends at, so the event covers [offset - content.length, offset)). Returns null when the
 * event is entirely known already. This makes every resume exact whatever mix of log and database served it.
 */
export function unseenContent(event: Pick<StreamEvent, 'offset' | 'data'>, delivered: number): string | null {
  const content = (event.data as MessageEventData).content ?? '';
  if (event.offset <= delivered) return null;
  const start = event.offset - content.length;
  return start >= delivered ? content : content.slice(delivered - start);
}

/** Extends `content` with the message events of a log replay (used to recover content that reached the log). */
export function contentWithEvents(content: string, events: StreamEvent[]): string {
  let out = content;
  for (const e of events) {
    if (e.type !== 'message') continue;
    const start = e.offset - ((e.data as MessageEventData).content ?? '').length;
    if (start > out.length) break; // a gap: never invent content
    const part = unseenContent(e, out.length);
    if (part) out += part;
  }
  return out;
}
