import { Controller, Get, MessageEvent, Module, Sse } from '@nestjs/common';
import { interval, map, Observable } from 'rxjs';
import { Public } from 'src/common/decorators/public.decorator';
import { DRAIN_SHARE, DrainService } from 'src/common/drain/drain.service';
import { registerTeam } from 'test/factories/auth.factory';
import { withTestApp } from 'test/utils/test-app';

@Public()
@Controller('test-drain')
class DrainProbeController {
  @Sse('sse')
  sse(): Observable<MessageEvent> {
    return interval(50).pipe(map((i) => ({ id: String(i + 1), type: 'tick', data: { i } })));
  }

  @Get('json')
  json(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [DrainProbeController] })
class DrainProbeModule {}

describe('Monitoring: graceful drain', () => {
  let drain: DrainService;
  const t = withTestApp({ imports: [DrainProbeModule], env: { SHUTDOWN_TIMEOUT_MS: '800' } });
  beforeAll(async () => {
    drain = t.app.get(DrainService);
  });

  it('serves readiness and streams normally before the drain', async () => {
    expect(drain.isDraining()).toBe(false);
    await t.http().get('/health/ready').expect(200);
    const res = await fetch(`${t.url}/test-drain/sse`, { headers: { Accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it('runs drain callbacks, waits for tracked work, then answers readiness 503 and refuses new streams', async () => {
    const calls: string[] = [];
    drain.onDrain(() => calls.push('stream-1 told to reconnect'));
    const off = drain.onDrain(() => calls.push('finished stream (unsubscribed)'));
    off();
    let flushed = false;
    void drain.track(new Promise<void>((resolve) => setTimeout(() => ((flushed = true), resolve()), 200)));
    void drain.track(Promise.reject(new Error('a failed flush does not stop the drain')));

    const begun = drain.begin();
    expect(drain.isDraining()).toBe(true);
    expect(calls).toEqual(['stream-1 told to reconnect']);
    expect(drain.begin()).toBe(begun); // idempotent

    const ready = await t.http().get('/health/ready').expect(503);
    expect(ready.body).toEqual(expect.objectContaining({ statusCode: 503, error: 'SERVICE_UNAVAILABLE' }));
    expect(Number(ready.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const sse = await t.http().get('/test-drain/sse').expect(503);
    expect(sse.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(Number(sse.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Any request asking for an event stream is a new stream too.
    await t.http().get('/test-drain/json').set('Accept', 'text/event-stream').expect(503);
    // Ordinary requests are still served while draining, and liveness stays up.
    await t.http().get('/test-drain/json').expect(200);
    await t.http().get('/health/live').expect(200);

    await begun;
    expect(flushed).toBe(true);
    expect(drain.inFlightCount()).toBe(0);
  });

  it('calls a callback registered during the drain at once', () => {
    const cb = jest.fn();
    drain.onDrain(cb);
    expect(cb).toHaveBeenCalledTimes(1);
  });
});

describe('Monitoring: drain budget', () => {
  const t = withTestApp({ env: { SHUTDOWN_TIMEOUT_MS: '400' } });

  it('gives up on work that never finishes within DRAIN_SHARE (60 %) of SHUTDOWN_TIMEOUT_MS', async () => {
    const drain = t.app.get(DrainService);
    void drain.track(new Promise<void>(() => undefined));
    const started = Date.now();
    await drain.begin();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(Math.floor(400 * DRAIN_SHARE) - 5); // timers may fire a ms or two early
    expect(took).toBeLessThan(5000); // bounded (generous: shared CI machines stall)
    expect(drain.inFlightCount()).toBe(1);
  });
});

describe('Monitoring: drain and the admin monitoring stream', () => {
  const t = withTestApp({ env: { SHUTDOWN_TIMEOUT_MS: '2000' } });

  it('tells an open monitoring stream to reconnect with a retry hint and ends it, then refuses new ones with 503', async () => {
    const admin = await registerTeam(t);
    const res = await fetch(`${t.url}/api/monitoring/stream`, {
      headers: { ...admin.bearer, Accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) return true;
        text += Buffer.from(value).toString('utf8');
      }
      return false;
    };
    await readUntil('event: connections');

    const drained = t.app.get(DrainService).begin();
    let ended = await readUntil('event: reconnect');
    while (!ended) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else text += Buffer.from(value).toString('utf8');
    }
    const last = text.slice(text.lastIndexOf('event: reconnect') - 20);
    expect(last).toMatch(/^retry: 1000$/m);
    expect(last).toContain('"type":"reconnect"');
    expect(ended).toBe(true); // the server ended the response: EventSource reconnects elsewhere
    await drained;

    const refused = await t.http().get('/api/monitoring/stream').set(admin.bearer).expect(503);
    expect(refused.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const conn = await t.http().get('/api/monitoring/connections').set(admin.bearer).expect(200);
    expect(conn.body.process.draining).toBe(true);
  });
});
