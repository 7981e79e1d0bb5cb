import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { chatStreamKey, contentWithEvents, ErrorEventData, INTERRUPTED } from 'src/chats/chat-stream-events';
import { GenerationService } from 'src/chats/generation.service';
import { MessageRepository } from 'src/chats/message.repository';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { formatEventId } from 'src/streaming/stream-event';
import { StreamLog } from 'src/streaming/stream-log';

const BATCH = 100;

/**
 * Crash recovery. A `streaming` message whose lease expired belongs to a job that died with its process:
 * it is finished as `error`/`INTERRUPTED` with all the content that reached the log (or, without it, the
 * database), and its stream gets the terminal event so followers end. Runs at startup and every lease period.
 */
@Injectable()
export class GenerationSweeperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(GenerationSweeperService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly messages: MessageRepository,
    private readonly log: StreamLog,
    private readonly generation: GenerationService,
  ) {}

  onApplicationBootstrap(): void {
    void this.sweep().catch((err: Error) => this.logger.warn(`startup sweep failed: ${err.message}`));
    this.timer = setInterval(() => void this.sweep().catch((err: Error) => this.logger.warn(`sweep failed: ${err.message}`)), this.config.chat.leaseMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Finishes every stale generation; returns how many it finished. One sweep at a time per process. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    let finished = 0;
    const stale = await this.messages.findStale(BATCH);
    for (const m of stale) {
      if (this.generation.isRunningHere(m.id)) continue;
      if (await this.interrupt(m.teamId, m.id, m.content)) finished++;
    }
    if (finished) this.logger.warn(`finished ${finished} interrupted generation(s)`);
    return finished;
  }

  /** Finishes one stale message as INTERRUPTED (or `cancelled` when a user asked to stop it). */
  async interrupt(teamId: string, messageId: string, dbContent: string, status: 'error' | 'cancelled' = 'error'): Promise<boolean> {
    const key = chatStreamKey(messageId);
    const replay = await this.log.read(key, null).catch(() => null);
    const content = replay?.known ? contentWithEvents(dbContent, replay.events) : dbContent;
    const interrupted = status === 'error';
    const lastSeq = replay?.known && !replay.finished ? (replay.events[replay.events.length - 1]?.seq ?? 0) : null;
    const finalEventId = lastSeq !== null && !replay?.truncated ? formatEventId(content.length, lastSeq + 1) : null;
    const done = await this.messages.finish(
      teamId,
      messageId,
      interrupted
        ? { status: 'error', content, errorCode: INTERRUPTED, errorMessage: 'The generation was interrupted', finalEventId }
        : { status: 'cancelled', content, finalEventId },
      true,
    );
    if (!done || !replay?.known || replay.finished) return done;
    try {
      if (interrupted) {
        await this.log.append<ErrorEventData>(key, 'error', { code: INTERRUPTED, message: 'The generation was interrupted', messageId }, content.length);
      } else {
        await this.log.append(key, 'done', { message: 'Stream cancelled', messageId, status: 'cancelled', usage: null }, content.length);
      }
      await this.log.finish(key);
    } catch (err) {
      this.logger.warn(`stream ${key}: terminal event not appended: ${(err as Error).message}`);
    }
    return done;
  }
}
