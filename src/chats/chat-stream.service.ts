import { Inject, Injectable, Optional } from '@nestjs/common';
import { catchError, defer, filter, map, Observable, tap, throwError } from 'rxjs';
import { chatStreamKey, terminalEventFor, unseenContent } from 'src/chats/chat-stream-events';
import { MessageRepository } from 'src/chats/message.repository';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { formatEventId, parseEventId, StreamEvent } from 'src/streaming/stream-event';
import { FollowOptions, StreamLog } from 'src/streaming/stream-log';
import { StreamTruncatedError, StreamUnknownError } from 'src/streaming/streaming.errors';

interface FollowState {
  /** Content code units the client has (the offset of its Last-Event-ID, then of every event sent). */
  delivered: number;
  seq: number;
}

/**
 * Builds the event stream of an assistant message for one subscriber: replay after the client's last id
 * then live, from the stream log; when the log does not (or no longer) hold the stream, from the database,
 * exactly: the id `${offset}-${seq}` says how much content the client has, so it gets `content.slice(offset)`.
 * Content already covered by the client's offset is never sent again, whichever source serves it.
 */
@Injectable()
export class ChatStreamService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly log: StreamLog,
    private readonly messages: MessageRepository,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /** The caller has already checked access to the message (it is in one of the caller's chats). */
  follow(teamId: string, messageId: string, lastEventId: string | null, options: FollowOptions = {}): Observable<StreamEvent> {
    return defer(() => {
      const cursor = parseEventId(lastEventId);
      const state: FollowState = { delivered: cursor?.offset ?? 0, seq: cursor?.seq ?? 0 };
      // A resume (Last-Event-ID) counts once, by the source that served it.
      let resumeCounted = lastEventId === null;
      const countResume = (source: 'log' | 'database'): void => {
        if (resumeCounted) return;
        resumeCounted = true;
        this.metrics?.streamResumed('chat', source);
      };
      return this.log.follow(chatStreamKey(messageId), cursor, options).pipe(
        tap({ next: () => countResume('log'), complete: () => countResume('log') }),
        map((e) => this.exact(e, state)),
        filter((e): e is StreamEvent => e !== null),
        catchError((err: unknown) => {
          if (!(err instanceof StreamUnknownError || err instanceof StreamTruncatedError)) return throwError(() => err);
          countResume('database');
          return this.fromDatabase(teamId, messageId, state);
        }),
      );
    });
  }

  /** Drops or trims a `message` event so that content the client has is not sent twice. */
  private exact(e: StreamEvent, state: FollowState): StreamEvent | null {
    if (e.type === 'message') {
      const part = unseenContent(e, state.delivered);
      if (part === null) return null;
      state.delivered = e.offset;
      state.seq = e.seq;
      return part.length === (e.data as { content: string }).content.length ? e : { ...e, data: { content: part } };
    }
    state.seq = Math.max(state.seq, e.seq);
    state.delivered = Math.max(state.delivered, e.offset);
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
          if (!final || final.seq > state.seq) for (const call of m.toolCalls ?? []) emit('tool_call', call, Math.max(state.delivered, m.content.length));
          if (final && final.seq > state.seq) {
            state.seq = final.seq;
            sub.next({ id: formatEventId(final.offset, final.seq), seq: final.seq, offset: final.offset, type: terminal.type, data: terminal.data });
          } else if (!final || final.seq < state.seq) {
            emit(terminal.type, terminal.data, Math.max(state.delivered, m.content.length));
          }
          return sub.complete();
        }
        timer = setTimeout(() => void poll().catch((err: unknown) => sub.error(err)), this.config.chat.persistIntervalMs);
      };
      void poll().catch((err: unknown) => sub.error(err));
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    });
  }
}

