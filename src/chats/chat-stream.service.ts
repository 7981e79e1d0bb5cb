import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { chatStreamKey, terminalEventFor, unseenContent } from 'src/chats/chat-stream-events';
import { MessageRepository } from 'src/chats/message.repository';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { resumableStream } from 'src/streaming/resumable-stream';
import { StreamCursor } from 'src/streaming/stream-cursor';
import { formatEventId, parseEventId, StreamEvent } from 'src/streaming/stream-event';
import { FollowOptions, StreamLog } from 'src/streaming/stream-log';
import { StreamGapError } from 'src/streaming/streaming.errors';

interface FollowState {
  /** Content code units the client has (the offset of its Last-Event-ID, then of every event sent). */
  delivered: number;
  seq: number;
}

/**
 * Builds the event stream of an assistant message for one subscriber with the shared resumable stream
 * (src/streaming/resumable-stream.ts): replay after the client's cursor then live, from the stream log; when
 * the log does not (or no longer) hold the stream, from the database, exactly: the cursor's offset says how
 * much content the client has, so it gets `content.slice(offset)`. Content already covered by the client's
 * offset is never sent again, whichever source serves it.
 */
@Injectable()
export class ChatStreamService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly log: StreamLog,
    private readonly messages: MessageRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** The caller has already checked access to the message (it is in one of the caller's chats). */
  follow(
    teamId: string,
    messageId: string,
    after: StreamCursor | null,
    flow: Pick<FollowOptions, 'paused'> = {},
  ): Observable<StreamEvent> {
    const key = chatStreamKey(messageId);
    return resumableStream(this.log, {
      key,
      after,
      flow,
      // Jumps in seq are delivered: continuity is checked by content offset (`exact`), which also catches a
      // log that lost the stream (a re-seed's `message` covers the content from 0, so it closes the jump).
      gaps: 'deliver',
      check: (e, last) => this.exact(key, e, last),
      fromDatabase: (last) =>
        this.fromDatabase(teamId, messageId, { delivered: last?.offset ?? 0, seq: last?.seq ?? 0 }),
      onResumed: (source) => this.metrics.streamResumed('chat', source),
      onFallback: (err) => {
        if (err instanceof StreamGapError) this.metrics.streamGap('chat', 'filled');
      },
    });
  }

  /**
   * Drops or trims a `message` event so that content the client has is not sent twice, and refuses one
   * that would leave a hole: a `message` starting after the content delivered, or any other event (status,
   * `done`, `error`) at an offset beyond it (`StreamGapError`; the rest is served from the database, so
   * `done` never follows a gap). `last` is what the client has: the content offset and the last seq.
   */
  private exact(key: string, e: StreamEvent, last: StreamCursor | null): StreamEvent | null {
    const delivered = last?.offset ?? 0;
    const lastId = formatEventId(delivered, last?.seq ?? 0);
    if (e.type === 'message') {
      const content = (e.data as { content?: string }).content ?? '';
      const start = e.offset - content.length;
      if (start > delivered)
        throw new StreamGapError(key, lastId, `event ${e.id} starts at ${start}, the client has ${delivered}`);
      const part = unseenContent(e, delivered);
      if (part === null) return null;
      return part.length === (e.data as { content: string }).content.length ? e : { ...e, data: { content: part } };
    }
    if (e.offset > delivered)
      throw new StreamGapError(
        key,
        lastId,
        `${e.type} event ${e.id} at offset ${e.offset}, the client has ${delivered}`,
      );
    return e;
  }

  /**
   * The stream served from the database: what the client lacks as one `message` event, then (polling at
   * the persist interval while a job on some instance still writes) the rest, then the stored tool calls
   * (one `tool_call` event each, complete) and the terminal event.
   */
  private fromDatabase(teamId: string, messageId: string, state: FollowState): Observable<StreamEvent> {
    return new Observable<StreamEvent>((sub) => {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const emit = (type: string, data: unknown, offset: number) => {
        state.seq += 1;
        sub.next({ id: formatEventId(offset, state.seq), seq: state.seq, offset, type, data });
      };
      const poll = async (): Promise<void> => {
        if (stopped) return;
        const m = await this.messages.findById(teamId, messageId);
        if (stopped) return;
        if (!m) return sub.complete();
        if (m.content.length > state.delivered) {
          emit('message', { content: m.content.slice(state.delivered) }, m.content.length);
          state.delivered = m.content.length;
        }
        if (m.status !== 'streaming') {
          const terminal = terminalEventFor(m);
          const final = parseEventId(m.finalEventId);
          // Tool calls are stored at the end: each goes out whole (clients keep the latest event per id).
          if (!final || final.seq > state.seq)
            for (const call of m.toolCalls ?? []) emit('tool_call', call, Math.max(state.delivered, m.content.length));
          if (final && final.seq > state.seq) {
            state.seq = final.seq;
            sub.next({
              id: formatEventId(final.offset, final.seq),
              seq: final.seq,
              offset: final.offset,
              type: terminal.type,
              data: terminal.data,
            });
          } else if (!final || final.seq < state.seq) {
            emit(terminal.type, terminal.data, Math.max(state.delivered, m.content.length));
          }
          return sub.complete();
        }
        timer = setTimeout(
          () => void poll().catch((err: unknown) => sub.error(err)),
          this.config.chat.persistIntervalMs,
        );
      };
      void poll().catch((err: unknown) => sub.error(err));
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    });
  }
}
