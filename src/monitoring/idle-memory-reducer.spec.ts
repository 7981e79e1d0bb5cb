import { EventEmitter } from 'node:events';
import type { HttpAdapterHost } from '@nestjs/core';
import type { MetricsService } from 'src/common/metrics/metrics.service';
import type { AppConfig } from 'src/config/env';
import { decideIdleGc, IdleGcSettings, IdleMemoryReducer, IdleSnapshot } from 'src/monitoring/idle-memory-reducer';

const MB = 1024 * 1024;
const settings: IdleGcSettings = {
  quietMs: 10_000,
  minIntervalMs: 60_000,
  minRssGrowthBytes: 32 * MB,
  maxElu: 0.05,
};
const NOW = 1_000_000;
/** A quiet process with 100 MB more RSS than after the last reducing GC, two minutes ago. */
const quiet: IdleSnapshot = {
  now: NOW,
  inFlight: 0,
  lastRequestAt: NOW - 30_000,
  elu: 0.01,
  lastRunAt: NOW - 120_000,
  rssBytes: 400 * MB,
  rssAfterLastRunBytes: 300 * MB,
};

describe('decideIdleGc', () => {
  it('runs on a quiet process that grew since the last reducing GC', () => {
    expect(decideIdleGc(quiet, settings)).toBe('run');
  });

  it('runs the first time (no earlier run) once quiet', () => {
    expect(decideIdleGc({ ...quiet, lastRunAt: undefined }, settings)).toBe('run');
  });

  it('never runs while a request or stream is open, however long ago it started', () => {
    expect(decideIdleGc({ ...quiet, inFlight: 1 }, settings)).toBe('in-flight');
  });

  it('waits until no request started for quietMs', () => {
    expect(decideIdleGc({ ...quiet, lastRequestAt: NOW - 9_999 }, settings)).toBe('recent-request');
    expect(decideIdleGc({ ...quiet, lastRequestAt: NOW - 10_000 }, settings)).toBe('run');
  });

  it('does not run while the event loop is working without requests (background jobs)', () => {
    expect(decideIdleGc({ ...quiet, elu: 0.2 }, settings)).toBe('busy');
    expect(decideIdleGc({ ...quiet, elu: 0.05 }, settings)).toBe('run');
  });

  it('runs at most once per minIntervalMs', () => {
    expect(decideIdleGc({ ...quiet, lastRunAt: NOW - 59_999 }, settings)).toBe('rate-limited');
    expect(decideIdleGc({ ...quiet, lastRunAt: NOW - 60_000 }, settings)).toBe('run');
  });

  it('skips the GC when RSS grew less than minRssGrowthBytes since the last one', () => {
    expect(decideIdleGc({ ...quiet, rssBytes: 331 * MB }, settings)).toBe('little-to-release');
    expect(decideIdleGc({ ...quiet, rssBytes: 250 * MB }, settings)).toBe('little-to-release');
    expect(decideIdleGc({ ...quiet, rssBytes: 332 * MB }, settings)).toBe('run');
  });

  it('checks load before the rate limit: a busy process is reported busy, not rate-limited', () => {
    expect(decideIdleGc({ ...quiet, inFlight: 3, lastRunAt: NOW - 1_000 }, settings)).toBe('in-flight');
  });
});

describe('IdleMemoryReducer wiring', () => {
  /** A reducer on a fake HTTP server; the growth threshold is out of reach, so the GC itself never runs here. */
  function reducerOn(server: EventEmitter) {
    const idleGcRan = jest.fn();
    const metrics = { idleGcRan } as unknown as MetricsService;
    const config = {
      idleGc: { enabled: true, quietMs: 10_000, minIntervalMs: 60_000, minRssGrowthMb: 1_000_000 },
    } as AppConfig;
    const host = { httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost;
    const reducer = new IdleMemoryReducer(host, metrics, config);
    reducer.onApplicationBootstrap();
    // The event loop of a test is never idle: its utilization is set here (the real one is checked above).
    jest.spyOn(reducer as unknown as { sampleElu: () => number }, 'sampleElu').mockReturnValue(0);
    return { reducer, idleGcRan };
  }
  const request = (server: EventEmitter, url: string) => {
    const res = new EventEmitter();
    server.emit('request', { url }, res);
    return res;
  };

  it('counts an open request or stream as in flight until its response closes', () => {
    const server = new EventEmitter();
    const { reducer, idleGcRan } = reducerOn(server);
    const later = Date.now() + 3_600_000;
    const res = request(server, '/api/chats/1/messages/2/stream');
    expect(reducer.check(later)).toBe('in-flight');
    res.emit('close');
    expect(reducer.check(later)).toBe('little-to-release');
    expect(reducer.check(Date.now())).toBe('recent-request');
    expect(idleGcRan).not.toHaveBeenCalled();
    reducer.onModuleDestroy();
    expect(server.listenerCount('request')).toBe(0);
  });

  it('does not count health probes and /metrics scrapes as traffic', () => {
    jest.useFakeTimers({ now: NOW });
    try {
      const server = new EventEmitter();
      const { reducer } = reducerOn(server);
      jest.setSystemTime(NOW + 10_000);
      request(server, '/health/ready').emit('close');
      request(server, '/metrics').emit('close');
      expect(reducer.check()).toBe('little-to-release');
      request(server, '/healthy-looking-route').emit('close');
      expect(reducer.check()).toBe('recent-request');
      jest.setSystemTime(NOW + 20_000);
      expect(reducer.check()).toBe('little-to-release');
      reducer.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });
});
