import { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { LastEventId } from 'src/streaming/last-event-id.decorator';
import { StreamCursor } from 'src/streaming/stream-cursor';

type Factory = (data: unknown, ctx: ExecutionContext) => StreamCursor | null;

/** The function Nest calls for `@LastEventId()` (how Nest's own tests read a param decorator). */
function factoryOf(): Factory {
  class Probe {
    handler(@LastEventId() _after: StreamCursor | null): void {}
  }
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Probe, 'handler') as Record<string, { factory: Factory }>;
  return Object.values(args)[0].factory;
}

const context = (headers: Record<string, string>, query: Record<string, unknown>): ExecutionContext =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers, query }) }) }) as unknown as ExecutionContext;

describe('@LastEventId()', () => {
  const read = (headers: Record<string, string>, query: Record<string, unknown> = {}) =>
    factoryOf()(undefined, context(headers, query));

  it('reads the Last-Event-ID header', () => {
    expect(read({ 'last-event-id': '42-7' })).toEqual({ offset: 42, seq: 7 });
  });

  it('falls back to ?lastEventId= when the header is absent', () => {
    expect(read({}, { lastEventId: '3-2' })).toEqual({ offset: 3, seq: 2 });
  });

  it('prefers the header over the query', () => {
    expect(read({ 'last-event-id': '10-4' }, { lastEventId: '3-2' })).toEqual({ offset: 10, seq: 4 });
  });

  it('is null (from the start) when neither is there, or the value is not one of our ids', () => {
    expect(read({})).toBeNull();
    expect(read({ 'last-event-id': 'abc' })).toBeNull();
    expect(read({}, { lastEventId: '-1' })).toBeNull();
    expect(read({}, { lastEventId: ['1-2', '3-4'] })).toBeNull();
  });

  it('takes the query when the header is present but empty', () => {
    expect(read({ 'last-event-id': '' }, { lastEventId: '5-1' })).toEqual({ offset: 5, seq: 1 });
  });
});
