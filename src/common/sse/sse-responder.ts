import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import { DrainService } from 'src/common/drain/drain.service';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { SseFrame } from 'src/common/sse/sse-format';
import {
  SseAnswer,
  SseFlowControl,
  SseJsonAnswer,
  sseWriterOptions,
  SseWriterOptions,
  writeSse,
  writeSseOrJson,
} from 'src/common/sse/sse-writer';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/** What a streaming controller hands the responder: a service call that gets the writer's flow control. */
export type SseProducer = (flow: SseFlowControl) => SseAnswer | Promise<SseAnswer>;

/** A compatibility surface's reshaping of one frame: another frame, or null to drop it. */
export type FrameMapper = (frame: SseFrame) => SseFrame | null;

/**
 * The one place where what a service returns becomes an HTTP answer for the streaming endpoints: services
 * return `Observable<SseFrame> | null` (or a DTO), controllers pass them here with `@Res()`.
 * - an Observable: SSE (`writeSse`: headers at once, heartbeats, backpressure to the log's follower, drain);
 * - null: 204, the client already has the terminal event (an EventSource stops reconnecting);
 * - `streamOrJson`: the JSON answer (202 and the created messages) for `Accept: application/json`.
 * Errors before the first byte (access, 404) reach the exception filter like any other.
 */
@Injectable()
export class SseResponder {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly drain: DrainService,
    private readonly metrics: MetricsService,
  ) {}

  /** SSE, or 204 when the producer resolves null. `kind` labels the stream in the metrics ('chat', 'research'). */
  async stream(res: ServerResponse, kind: string, produce: SseProducer): Promise<void> {
    await writeSse(res, produce, this.options(kind));
  }

  /** JSON for `Accept: application/json` (and not `text/event-stream`), else like `stream`. */
  async streamOrJson(
    req: IncomingMessage,
    res: ServerResponse,
    kind: string,
    json: SseJsonAnswer,
    produce: SseProducer,
  ): Promise<void> {
    await writeSseOrJson(req, res, json, produce, this.options(kind));
  }

  private options(kind: string): SseWriterOptions {
    return sseWriterOptions(this.config, { drain: this.drain, metrics: this.metrics, kind });
  }
}

/** Each frame through `mapper` (dropped when it returns null); null stays null (204). */
export function mapFrames(frames: SseAnswer, mapper: FrameMapper): SseAnswer {
  if (!frames) return frames;
  return new Observable<SseFrame>((subscriber) =>
    frames.subscribe({
      next: (f) => {
        let mapped: SseFrame | null;
        try {
          mapped = mapper(f);
        } catch (err) {
          return subscriber.error(err);
        }
        if (mapped) subscriber.next(mapped);
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    }),
  );
}
