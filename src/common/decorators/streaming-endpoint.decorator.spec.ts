import { Reflector } from '@nestjs/core';
import { StreamingEndpoint } from 'src/common/decorators/streaming-endpoint.decorator';
import { STREAMING_ROUTE_KEY } from 'src/common/drain/drain.guard';
import { SKIP_BREAKER_KEY } from 'src/common/interceptors/circuit-breaker.interceptor';

class Probe {
  @StreamingEndpoint()
  send(): void {}

  @StreamingEndpoint({ resumable: true })
  follow(): void {}

  plain(): void {}
}

describe('@StreamingEndpoint()', () => {
  const reflector = new Reflector();
  const handler = (name: keyof Probe): (() => void) =>
    Object.getOwnPropertyDescriptor(Probe.prototype, name)?.value as () => void;

  it('takes the route out of the circuit breaker and marks it a stream for the drain guard', () => {
    for (const name of ['send', 'follow'] as const) {
      expect(reflector.get(SKIP_BREAKER_KEY, handler(name))).toBe(true);
      expect(reflector.get(STREAMING_ROUTE_KEY, handler(name))).toBe(true);
    }
    expect(reflector.get(SKIP_BREAKER_KEY, handler('plain'))).toBeUndefined();
    expect(reflector.get(STREAMING_ROUTE_KEY, handler('plain'))).toBeUndefined();
  });

  it('documents the Last-Event-ID header on a resumable route only', () => {
    const headers = (name: keyof Probe) =>
      ((Reflect.getMetadata('swagger/apiParameters', handler(name)) ?? []) as { name: string; in: string }[])
        .filter((p) => p.in === 'header')
        .map((h) => h.name);
    expect(headers('follow')).toEqual(['Last-Event-ID']);
    expect(headers('send')).toEqual([]);
  });
});
