import { Inject, Injectable, MessageEvent } from '@nestjs/common';
import { from, map, Observable, switchMap, timer } from 'rxjs';
import type { AuthUser } from 'src/common/auth-user';
import { DRAIN_RETRY_MS, DrainService } from 'src/common/drain/drain.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { toMessageEvent, toSseMessages } from 'src/common/sse/sse-message';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { ConnectionsDto, StreamSubscribersDto } from 'src/monitoring/dto/connections.dto';
import { StreamLog } from 'src/streaming/stream-log';

/** How often `GET /api/monitoring/stream` sends the figures. */
export const MONITORING_STREAM_INTERVAL_MS = 5000;

/**
 * The team segment of a stream key. Convention (docs/monitoring.md): `<kind>:<teamId>:…`, e.g.
 * `chat:<teamId>:<chatId>:<messageId>`, `research:<teamId>:<sessionId>`.
 */
export function teamOfStreamKey(key: string): { kind: string; teamId: string | undefined } {
  const [kind, teamId] = key.split(':');
  return { kind: kind ?? '', teamId };
}

/** Live connection figures for admins: their team's streams plus process-wide figures. */
@Injectable()
export class MonitoringService {
  constructor(
    private readonly streamLog: StreamLog,
    private readonly drain: DrainService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async connections(user: AuthUser): Promise<ConnectionsDto> {
    const stats = await this.streamLog.stats();
    const byStream: StreamSubscribersDto[] = [];
    for (const [key, subscribers] of Object.entries(stats.followersByKey)) {
      const { kind, teamId } = teamOfStreamKey(key);
      if (teamId === user.teamId && subscribers > 0) byStream.push({ key, kind, subscribers });
    }
    byStream.sort((a, b) => b.subscribers - a.subscribers || a.key.localeCompare(b.key));
    const mem = process.memoryUsage();
    return {
      team: {
        teamId: user.teamId,
        streams: byStream.length,
        subscribers: byStream.reduce((n, s) => n + s.subscribers, 0),
        byStream,
      },
      process: {
        subscribers: stats.activeFollowers,
        queuedEvents: stats.queuedEvents,
        maxQueueDepth: stats.maxQueueDepth,
        droppedSlowConsumers: stats.droppedSlowConsumers,
        streamLog: {
          backend: stats.backend,
          streamsHeld: stats.streamsHeld,
          eventsHeld: stats.eventsHeld,
          approxBytes: stats.approxBytes,
        },
        memory: {
          rssBytes: mem.rss,
          heapUsedBytes: mem.heapUsed,
          heapTotalBytes: mem.heapTotal,
          externalBytes: mem.external,
          arrayBuffersBytes: mem.arrayBuffers,
        },
        uptimeSec: Math.round(process.uptime()),
        draining: this.drain.isDraining(),
      },
      timestamp: new Date().toISOString(),
    };
  }

  /**
   * `connections` events every few seconds. When the instance starts draining, a last `reconnect` event
   * carrying the `retry:` hint goes out and the stream ends, so the EventSource reconnects elsewhere.
   */
  stream(user: AuthUser): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      let seq = 0;
      this.metrics.sseSubscriberOpened('monitoring');
      const send = (m: MessageEvent) => {
        if (!('comment' in m)) this.metrics.sseEventSent('monitoring', String(m.type ?? 'message'));
        subscriber.next(m);
      };
      const figures$ = timer(0, MONITORING_STREAM_INTERVAL_MS).pipe(
        switchMap(() => from(this.connections(user))),
        map((data) => ({ id: String(++seq), type: 'connections', data })),
      );
      const live = toSseMessages(figures$, { heartbeatMs: this.config.streaming.heartbeatMs, retryMs: 3000 }).subscribe(
        {
          next: send,
          error: (err: unknown) => subscriber.error(err),
        },
      );
      const offDrain = this.drain.onDrain(() => {
        live.unsubscribe();
        send(toMessageEvent({ id: String(++seq), type: 'reconnect', data: { reason: 'draining' } }, DRAIN_RETRY_MS));
        subscriber.complete();
      });
      return () => {
        offDrain();
        live.unsubscribe();
        this.metrics.sseSubscriberClosed('monitoring');
      };
    });
  }
}
