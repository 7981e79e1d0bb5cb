import { EventEmitter } from 'node:events';
import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdmissionGuard } from 'src/common/guards/admission.guard';
import { STREAMING_ROUTE_KEY } from 'src/common/drain/drain.guard';
import { loadConfig } from 'src/config/env';

class FakeResponse extends EventEmitter {
  destroyed = false;
  headersSent = false;
  writeHead(): this {
    this.headersSent = true;
    return this;
  }
  close(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function streaming(): void {}
Reflect.defineMetadata(STREAMING_ROUTE_KEY, true, streaming);
function plain(): void {}

const ctx = (method: string, handler: () => void, res: FakeResponse) =>
  ({
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => ({ method }), getResponse: () => res }),
  }) as unknown as ExecutionContext;

const guard = (limit: number) =>
  new AdmissionGuard(new Reflector(), loadConfig({ NODE_ENV: 'test', STREAM_ADMISSION_CONCURRENCY: String(limit) }));

describe('AdmissionGuard', () => {
  it('admits stream-starting POSTs up to the limit, the others in arrival order as earlier ones start answering', async () => {
    const g = guard(2);
    const res = Array.from({ length: 4 }, () => new FakeResponse());
    const order: number[] = [];
    const results = res.map((r, i) =>
      Promise.resolve(g.canActivate(ctx('POST', streaming, r))).then(() => order.push(i)),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    expect(g.stats).toEqual({ active: 2, waiting: 2 });
    res[1].writeHead(); // the second send's stream started
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    res[0].close(); // a client that left releases its slot too
    await Promise.all(results);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(g.stats).toEqual({ active: 2, waiting: 0 });
    // The response's writeHead is its own again (assigned back, not deleted: see admit()).
    const method = (o: object): unknown => Object.getOwnPropertyDescriptor(o, 'writeHead')?.value;
    expect(method(res[1])).toBe(method(FakeResponse.prototype));
  });

  it('lets everything else through at once: GETs, routes that start no stream, and any request with the limit at 0', async () => {
    const g = guard(1);
    const busy = new FakeResponse();
    expect(g.canActivate(ctx('POST', streaming, busy))).toBe(true);
    expect(g.canActivate(ctx('GET', streaming, new FakeResponse()))).toBe(true);
    expect(g.canActivate(ctx('POST', plain, new FakeResponse()))).toBe(true);
    expect(guard(0).canActivate(ctx('POST', streaming, new FakeResponse()))).toBe(true);
    expect(g.stats).toEqual({ active: 1, waiting: 0 });
  });

  it('a caller that left while waiting is still handled in its turn, without taking a slot', async () => {
    const g = guard(1);
    const first = new FakeResponse();
    const gone = new FakeResponse();
    expect(g.canActivate(ctx('POST', streaming, first))).toBe(true);
    const waiting = Promise.resolve(g.canActivate(ctx('POST', streaming, gone)));
    gone.close();
    first.writeHead();
    await expect(waiting).resolves.toBe(true);
    expect(g.stats).toEqual({ active: 0, waiting: 0 });
  });
});
