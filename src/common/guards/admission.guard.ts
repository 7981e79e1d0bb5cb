import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { STREAMING_ROUTE_KEY } from 'src/common/drain/drain.guard';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/**
 * First in the guard chain: requests that start a stream (a POST route marked `@StreamingEndpoint()`: a send, a
 * regenerate, a research run, the compatibility surfaces' sends) are handled at most
 * `STREAM_ADMISSION_CONCURRENCY` at a time until their stream starts (the response's headers go out, right after
 * the reply's job started), the others in arrival order (issue 18: no stall at 512 concurrent streams).
 *
 * Why: a burst of sends is several round trips each (guards, context, insert, open). Handled all at once, the
 * replies to each step come back together (one socket read answers hundreds of pipelined Redis commands) and
 * every send's next step runs in one uninterrupted stretch of microtasks, so the deltas of the streams already
 * running wait behind hundreds of sends' work: gaps of 200–300 ms at 256 and 512 streams. Admitted a few at a
 * time, the same work comes in short stretches between which those deltas go out, and sends start in the order
 * they came, so the first ones start streaming first instead of all at the end of the burst.
 *
 * The slot is released when the response's headers are written (the stream started, or any answer: 202, an
 * error) or the client leaves. A caller waiting here costs nothing but its socket; it goes through every other
 * guard (throttle, authentication) when admitted.
 */
@Injectable()
export class AdmissionGuard implements CanActivate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = config.chat.admissionConcurrency;
  }

  /** Requests admitted and not yet answered, and requests waiting (for Monitoring and tests). */
  get stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.limit === 0 || context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (req.method !== 'POST') return true;
    if (
      this.reflector.getAllAndOverride<boolean>(STREAMING_ROUTE_KEY, [context.getHandler(), context.getClass()]) !==
      true
    )
      return true;
    const res = context.switchToHttp().getResponse<Response>();
    if (this.active < this.limit) {
      this.admit(res);
      return true;
    }
    // A caller that leaves while it waits keeps its place: a send is handled even if its client is gone (the reply
    // is stored and generated, as without admission); it just takes no slot when its turn comes.
    return new Promise<boolean>((resolve) =>
      this.waiting.push(() => {
        this.admit(res);
        resolve(true);
      }),
    );
  }

  private admit(res: Response): void {
    // Gone already ('close' was emitted): nothing would release a slot.
    if (res.destroyed || res.headersSent) return;
    this.active++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      // Back to the function it was. Assigned, not deleted: `delete` of a property added before others turns the
      // response object into a dictionary (slower, and larger for as long as the stream stays open).
      res.writeHead = writeHead;
      res.off('close', release);
      this.active--;
      this.next();
    };
    // Node writes the headers through writeHead, explicitly or implicitly (first write, end): the moment the
    // stream (or the answer) starts.
    // Kept unbound on purpose: it is put back as it was, and called with the response as `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, ...args: unknown[]) {
      release();
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as Response['writeHead'];
    res.once('close', release);
  }

  private next(): void {
    while (this.active < this.limit && this.waiting.length > 0) this.waiting.shift()!();
  }
}
